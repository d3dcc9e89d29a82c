"""The connection list (with each connection's health) as an export.

The rows are the page's cards (`selectors.connection_cards`), in the page's order, with what
each card shows; never the client secret or a token.
"""

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.http import Http404
from django.utils.text import slugify

from dashboard.connections import selectors
from dashboard.connections.selectors import ConnectionCard
from dashboard.connections.templatetags.connections_extras import kind_label
from dashboard.directory.models import EntryKind
from dashboard.exports.sources import ExportScope, ExportSource
from dashboard.exports.tables import CellType, ExportColumn, ExportTable
from dashboard.tenants.access import organization_access_get

__all__ = ["CONNECTIONS"]

SEVERITIES = ("critical", "high", "medium", "low")


def connection_table(scope: ExportScope) -> ExportTable:
    """The organisation's connection list: anyone who may open the page (members and provider
    staff); Http404 for anybody else."""
    if scope.organization is None:
        raise Http404("No such organisation.")
    access = organization_access_get(user=scope.user, organization_id=scope.organization.pk)
    organization = access.organization
    columns = CARD_COLUMNS + (STORED_COLUMNS if scope.all_fields else ())
    return ExportTable(
        title=f"3CX connections of {organization.name}",
        slug=f"{slugify(organization.name) or 'organisation'}-connections",
        columns=columns,
        # An organisation has a handful of connections: the page's own list is the stream.
        rows=lambda: iter(selectors.connection_cards(organization=organization)),
        count=selectors.connection_list(organization=organization).count,
        filters="sorted by name",
    )


def _last_synced(card: ConnectionCard):
    return card.state.last_success_at if card.state is not None else None


def _age(card: ConnectionCard) -> str:
    when = _last_synced(card)
    # naturaltime separates number and unit with no-break spaces, for the page's layout.
    return naturaltime(when).replace("\xa0", " ") if when else ""


def _count(kind: str):
    def value(card: ConnectionCard) -> int | None:
        counts = (card.state.counts if card.state is not None else None) or {}
        return counts.get(kind)

    return value


def _findings(severity: str):
    def value(card: ConnectionCard) -> int | None:
        audit = getattr(card.connection, "audit_state", None)
        return getattr(audit, severity) if audit is not None else None

    return value


CARD_COLUMNS = (
    ExportColumn("Name", lambda card: card.connection.name),
    ExportColumn("Health", lambda card: card.health_label),
    ExportColumn("Server address", lambda card: card.connection.base_url),
    ExportColumn("3CX version", lambda card: card.connection.version),
    ExportColumn("Last error", lambda card: card.connection.last_error),
    ExportColumn(
        "Sync", lambda card: card.active_run.get_status_display() if card.active_run else ""
    ),
    ExportColumn("Last synced", _last_synced, CellType.DATETIME),
    ExportColumn("Last synced (age)", _age),
    *(ExportColumn(kind_label(kind), _count(kind), CellType.NUMBER) for kind in EntryKind),
    *(
        ExportColumn(f"{severity.capitalize()} findings", _findings(severity), CellType.NUMBER)
        for severity in SEVERITIES
    ),
)

#: "All fields": the connection's stored settings besides what its card shows. The client
#: secret (and any token) is never among them.
STORED_COLUMNS = (
    ExportColumn("Client ID", lambda card: card.connection.client_id),
    ExportColumn(
        "Verify TLS certificate", lambda card: card.connection.verify_tls, CellType.BOOLEAN
    ),
    ExportColumn(
        "Own CA certificate",
        lambda card: bool(card.connection.tls_ca_certificates),
        CellType.BOOLEAN,
    ),
    ExportColumn(
        "Request timeout (seconds)", lambda card: card.connection.timeout_seconds, CellType.NUMBER
    ),
    ExportColumn("Default country for phone numbers", lambda card: card.connection.phone_region),
    ExportColumn("Enabled", lambda card: card.connection.enabled, CellType.BOOLEAN),
    ExportColumn(
        "Last error is permanent",
        lambda card: card.connection.last_error_permanent,
        CellType.BOOLEAN,
    ),
    ExportColumn("Last error at", lambda card: card.connection.last_error_at, CellType.DATETIME),
    ExportColumn(
        "Last checked at", lambda card: card.connection.last_checked_at, CellType.DATETIME
    ),
    ExportColumn(
        "Sync interval",
        lambda card: card.state.get_sync_interval_display() if card.state is not None else "",
    ),
    ExportColumn("Created", lambda card: card.connection.created_at, CellType.DATETIME),
    ExportColumn("Changed", lambda card: card.connection.updated_at, CellType.DATETIME),
)

CONNECTIONS = ExportSource(key="connections.list", build=connection_table, has_all_fields=True)
