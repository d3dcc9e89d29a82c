"""What the connection pages read."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from dashboard.directory.models import DirectoryState, SyncRun
from dashboard.tenants.access import OrganizationAccess, tenant_object_get
from dashboard.tenants.models import Organization
from integrations.threecx.models import ThreeCXConnection

CHART_RUNS = 20

#: A connection's health as its card (and the connection list's export) names it.
HEALTH_LABELS = {
    "ok": "Healthy",
    "error": "Error",
    "disabled": "Disabled",
    "new": "Not synced yet",
}


@dataclass
class ConnectionCard:
    connection: ThreeCXConnection
    state: DirectoryState | None
    active_run: SyncRun | None
    last_run: SyncRun | None
    #: (finished_at, total entries) for the last successful runs, oldest first.
    history: list[tuple[datetime, int]]

    @property
    def health(self) -> str:
        if not self.connection.enabled:
            return "disabled"
        if self.connection.last_error:
            return "error"
        if self.state is None or self.state.last_success_at is None:
            return "new"
        return "ok"

    @property
    def health_label(self) -> str:
        return HEALTH_LABELS[self.health]


def connection_list(*, organization: Organization) -> QuerySet[ThreeCXConnection]:
    """The organisation's connections by name, with their directory state and the status and
    error of their latest sync run (`latest_run_status`, `latest_run_error`)."""
    latest = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-created_at")
    return (
        ThreeCXConnection.objects.filter(organization=organization)
        .select_related("directory_state", "audit_state")
        .annotate(
            latest_run_status=Subquery(latest.values("status")[:1]),
            latest_run_error=Subquery(latest.values("error")[:1]),
        )
        .order_by("name")
    )


def connection_get(access: OrganizationAccess, connection_id: Any) -> ThreeCXConnection:
    """The one way a view reads a connection: one of the user's organisation, read as
    `connection_list` reads it; 404 for any other (or a malformed id)."""
    return tenant_object_get(
        connection_list(organization=access.organization), access, pk=connection_id
    )


def connection_cards(*, organization: Organization) -> list[ConnectionCard]:
    """The connection list as its page shows it (and exports it): one card per connection,
    by name, with its health, sync state and recent totals."""
    connections = list(connection_list(organization=organization))
    runs = SyncRun.objects.filter(connection__in=connections).order_by("-created_at")
    active = {r.connection_id: r for r in runs.filter(status__in=SyncRun.ACTIVE)}
    last = {}
    for run in runs.exclude(status__in=SyncRun.ACTIVE)[: 5 * len(connections) or 1]:
        last.setdefault(run.connection_id, run)
    return [
        ConnectionCard(
            connection=c,
            state=getattr(c, "directory_state", None),
            active_run=active.get(c.pk),
            last_run=last.get(c.pk),
            history=count_history(c),
        )
        for c in connections
    ]


def count_history(connection: ThreeCXConnection) -> list[tuple[datetime, int]]:
    """Total entries after each recent successful sync, rebuilt backwards from today's count."""
    state = getattr(connection, "directory_state", None)
    if state is None or not state.counts:
        return []
    total = sum(state.counts.values())
    points = []
    succeeded = SyncRun.objects.filter(
        connection=connection, status=SyncRun.Status.SUCCEEDED
    ).order_by("-finished_at")[:CHART_RUNS]
    for run in succeeded.values("finished_at", "added", "removed"):
        points.append((run["finished_at"], total))
        total -= run["added"] - run["removed"]
    return list(reversed(points))


def sparkline(points: list[int], *, width: int = 160, height: int = 36) -> str:
    """SVG polyline coordinates for a small server-rendered chart."""
    if len(points) < 2:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1
    step = width / (len(points) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (p - low) / span * (height - 4):.1f}"
        for i, p in enumerate(points)
    )
