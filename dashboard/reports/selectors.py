"""What the report pages read: findings of a connection or an organisation, their counts and
grade, findings grouped by rule, the trend of unresolved findings, and the provider roll-up.

Every function costs a fixed number of queries whatever the number of findings, connections
or organisations: grouping, the first findings of each rule and the roll-up's per-organisation
figures are computed by the database.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from dashboard.reports.models import (
    SEVERITY_RANK,
    AuditRun,
    AuditState,
    Finding,
    FindingSnapshot,
    Severity,
)
from dashboard.reports.rules import rule_get
from dashboard.tenants.models import Activity, Organization
from integrations.threecx.models import ThreeCXConnection

#: Findings shown by default: the condition is still true and nobody suppressed it.
ACTIVE_STATES = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)
SEVERITIES = tuple(Severity)
#: How many findings of each rule the grouped report shows before "Show all".
GROUP_PREVIEW = 10
TREND_DAYS = 90

#: Worst first, as a number the database can order and aggregate by.
SEVERITY_ORDER = Case(
    *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()),
    default=Value(len(SEVERITY_RANK)),
    output_field=IntegerField(),
)
#: How a rule's findings are listed under its heading: worst first, then by subject.
GROUP_ORDER = (SEVERITY_ORDER.asc(), F("subject_label").asc(), F("pk").asc())


# --- findings --------------------------------------------------------------------------------


def finding_list(
    *, organization: Organization, connection: ThreeCXConnection | None = None
) -> QuerySet[Finding]:
    """Every finding (in any state) of the organisation, or of one of its connections."""
    findings = Finding.objects.filter(organization=organization)
    if connection is not None:
        findings = findings.filter(connection=connection)
    return findings.select_related("connection")


def finding_search(findings: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    """Findings whose summary, subject or rule contains every word of `text`."""
    for word in text.split():
        findings = findings.filter(
            Q(summary__icontains=word) | Q(subject_label__icontains=word) | Q(rule__icontains=word)
        )
    return findings


@dataclass(frozen=True)
class FindingCounts:
    """Findings of a scope by severity (open and acknowledged), and the others apart."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    acknowledged: int = 0
    suppressed: int = 0
    new_this_week: int = 0
    resolved_this_week: int = 0

    @property
    def active(self) -> int:
        return self.critical + self.high + self.medium + self.low

    def by_severity(self) -> list[tuple[Severity, int]]:
        return [(severity, getattr(self, severity.value)) for severity in SEVERITIES]


def finding_counts(findings: QuerySet[Finding]) -> FindingCounts:
    """One aggregate query over `findings` (all states): the headline figures of a report."""
    week_ago = timezone.now() - timedelta(days=7)
    active = Q(state__in=ACTIVE_STATES)
    figures = findings.order_by().aggregate(
        **{s.value: Count("pk", filter=active & Q(severity=s)) for s in SEVERITIES},
        acknowledged=Count("pk", filter=Q(state=Finding.State.ACKNOWLEDGED)),
        suppressed=Count("pk", filter=Q(state=Finding.State.SUPPRESSED)),
        new_this_week=Count("pk", filter=active & Q(first_seen__gte=week_ago)),
        resolved_this_week=Count("pk", filter=Q(resolved_at__gte=week_ago)),
    )
    return FindingCounts(**figures)


# --- the grade -------------------------------------------------------------------------------

#: Points per open (or acknowledged) finding of each severity.
GRADE_WEIGHTS = {Severity.CRITICAL: 10, Severity.HIGH: 5, Severity.MEDIUM: 2, Severity.LOW: 1}
#: The best grade whose points per connection stay at or under the bound; F above the last.
GRADE_BOUNDS = (("A", 2), ("B", 10), ("C", 25), ("D", 50))
GRADES = ("A", "B", "C", "D", "F")
#: A critical finding makes the grade D at best; a high one, B at best.
GRADE_CAPS = {Severity.CRITICAL: "D", Severity.HIGH: "B"}


@dataclass(frozen=True)
class Grade:
    letter: str
    points: int
    #: Points divided by the connections audited, what the letter is read from.
    points_per_connection: float
    #: Why the letter is not better than its points say ("a critical finding"), or "".
    capped_by: str = ""


def grade_for(counts: FindingCounts, *, connections: int) -> Grade:
    """A to F from open and acknowledged findings weighted by severity, per connection, so
    that an organisation with ten phone systems is not marked down for its size."""
    points = sum(GRADE_WEIGHTS[severity] * count for severity, count in counts.by_severity())
    per_connection = points / max(connections, 1)
    letter = next((g for g, bound in GRADE_BOUNDS if per_connection <= bound), "F")
    capped_by = ""
    for severity, cap in GRADE_CAPS.items():
        if getattr(counts, severity.value) and GRADES.index(letter) < GRADES.index(cap):
            letter, capped_by = cap, f"{severity.label.lower()} findings"
    return Grade(letter, points, round(per_connection, 1), capped_by)


# --- findings grouped by rule ----------------------------------------------------------------


@dataclass
class RuleGroup:
    rule: str
    #: The worst severity among the group's findings.
    severity: str
    count: int
    #: When the group's first and latest findings were first seen.
    oldest: datetime
    newest: datetime
    #: The first GROUP_PREVIEW findings, in GROUP_ORDER.
    findings: list[Finding] = field(default_factory=list)
    #: The rule's title, and the rule itself (None for a rule since retired).
    title: str = ""
    info: Any = None


def finding_groups(
    findings: QuerySet[Finding], *, sort: str, preview: int = GROUP_PREVIEW
) -> list[RuleGroup]:
    """`findings` by rule with their count, worst severity and first few findings, in the
    report's `sort` order, in two queries (a GROUP BY, and a window function picking each
    rule's first findings; none without a `preview`)."""
    ranks = {rank: severity for severity, rank in SEVERITY_RANK.items()}
    rows = (
        findings.order_by()
        .values("rule")
        .annotate(
            count=Count("pk"),
            worst=Min(SEVERITY_ORDER),
            oldest=Min("first_seen"),
            newest=Max("first_seen"),
        )
    )
    groups = {
        row["rule"]: RuleGroup(
            rule=row["rule"],
            severity=ranks.get(row["worst"], Severity.LOW),
            count=row["count"],
            oldest=row["oldest"],
            newest=row["newest"],
            title=rule_title(row["rule"]),
            info=rule_get(row["rule"]),
        )
        for row in rows
    }
    if groups and preview:
        first = findings.annotate(
            position=Window(RowNumber(), partition_by=[F("rule")], order_by=list(GROUP_ORDER))
        ).filter(position__lte=preview)
        for finding in first.order_by("rule", "position"):
            groups[finding.rule].findings.append(finding)
    return sorted(groups.values(), key=_GROUP_SORTS.get(sort, _GROUP_SORTS["severity"]))


def findings_ordered(findings: QuerySet[Finding], *, sort: str) -> QuerySet[Finding]:
    """One rule's findings, for the flat list, in the report's sort order."""
    orders = {
        "severity": (SEVERITY_ORDER.asc(), "subject_label"),
        "count": (SEVERITY_ORDER.asc(), "subject_label"),
        "rule": ("rule", "subject_label"),
        "newest": ("-first_seen",),
        "oldest": ("first_seen",),
    }
    return findings.order_by(*orders.get(sort, orders["severity"]), "pk")


def findings_in_report_order(
    findings: QuerySet[Finding], *, rule_id: str, sort: str
) -> QuerySet[Finding]:
    """Every one of a report's `findings` in the order its page shows them: with a rule
    chosen, the flat list's order; otherwise rule by rule as `finding_groups` sorts the
    groups, each rule's findings in GROUP_ORDER (all of them, not the preview)."""
    if rule_id:
        return findings_ordered(findings, sort=sort)
    groups = finding_groups(findings, sort=sort, preview=0)
    if not groups:
        # Nothing to place (a CASE without WHEN would be ORDER BY a constant: a column
        # number to PostgreSQL).
        return findings.order_by(*GROUP_ORDER)
    position = Case(
        *(When(rule=group.rule, then=Value(index)) for index, group in enumerate(groups)),
        default=Value(len(groups)),
        output_field=IntegerField(),
    )
    return findings.order_by(position, *GROUP_ORDER)


def rule_title(rule_id: str) -> str:
    """The rule's title; its id for a rule since retired."""
    rule = rule_get(rule_id)
    return rule.title if rule is not None else rule_id


_GROUP_SORTS = {
    "severity": lambda g: (SEVERITY_RANK.get(g.severity, 9), -g.count, g.title),
    "count": lambda g: (-g.count, SEVERITY_RANK.get(g.severity, 9), g.title),
    "rule": lambda g: (g.title.casefold(),),
    "newest": lambda g: (-g.newest.timestamp(), g.title),
    "oldest": lambda g: (g.oldest.timestamp(), g.title),
}


# --- one finding -----------------------------------------------------------------------------


def finding_history(finding: Finding) -> list[Finding]:
    """Earlier findings of the same rule about the same subject: the times it came back."""
    return list(
        Finding.objects.filter(
            connection_id=finding.connection_id,
            rule=finding.rule,
            subject_key=finding.subject_key,
        )
        .exclude(pk=finding.pk)
        .order_by("-first_seen")[:20]
    )


def finding_activity(finding: Finding) -> list[Activity]:
    """What people did to the finding (acknowledged, suppressed, reopened), newest first."""
    return list(
        Activity.objects.filter(
            organization_id=finding.organization_id,
            target_type=Finding._meta.model_name,
            target_id=str(finding.pk),
        ).order_by("-created_at", "-id")[:50]
    )


def findings_of_entry(
    *, connection: ThreeCXConnection, kind: str, external_id: int
) -> list[Finding]:
    """Unresolved findings about one directory entry, worst first."""
    return list(
        Finding.objects.filter(
            connection=connection,
            subject_kind=kind,
            subject_external_id=external_id,
            state__in=Finding.UNRESOLVED,
        ).order_by(SEVERITY_ORDER.asc(), "rule", "pk")
    )


# --- audits ----------------------------------------------------------------------------------


def audit_states(*, organization: Organization) -> dict[object, AuditState]:
    """Each connection's audit state, by connection id."""
    states = AuditState.objects.filter(organization=organization).select_related("last_run")
    return {state.connection_id: state for state in states}


def audit_runs_active(*, organization: Organization) -> dict[object, AuditRun]:
    """The queued or running audit of each connection that has one, by connection id."""
    runs = AuditRun.objects.filter(organization=organization, status__in=AuditRun.ACTIVE)
    return {run.connection_id: run for run in runs}


def rules_skipped(states: list[AuditState]) -> list[dict]:
    """Rules that could not run at the last audits, once per rule and reason, with the
    connections it concerns: [{"rule": ..., "reason": ..., "connections": [...]}]."""
    found: dict[tuple[str, str], list] = {}
    for state in states:
        for skipped in state.rules_skipped or []:
            key = (skipped.get("rule", ""), skipped.get("reason", ""))
            found.setdefault(key, []).append(state.connection)
    return [
        {"rule": rule, "reason": reason, "connections": connections}
        for (rule, reason), connections in sorted(found.items())
    ]


# --- the trend -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendDay:
    day: date
    critical: int
    high: int
    medium: int
    low: int

    @property
    def total(self) -> int:
        return self.critical + self.high + self.medium + self.low


def finding_trend(
    *,
    organization: Organization,
    connection: ThreeCXConnection | None = None,
    days: int = TREND_DAYS,
    today: date | None = None,
) -> list[TrendDay]:
    """Unresolved findings per severity on each day from the first snapshot (within `days`)
    to today. A connection not audited on a day counts with its last snapshot before it, so
    that a sum over connections audited on different days has no false dips."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    snapshots = FindingSnapshot.objects.filter(organization=organization, day__gte=start)
    if connection is not None:
        snapshots = snapshots.filter(connection=connection)
    rows = list(
        snapshots.order_by("day").values_list(
            "connection_id", "day", *(s.value for s in SEVERITIES)
        )
    )
    if not rows:
        return []
    by_day: dict[date, list[tuple]] = defaultdict(list)
    for connection_id, day, *counts in rows:
        by_day[day].append((connection_id, counts))
    latest: dict[object, list[int]] = {}
    trend = []
    day = rows[0][1]
    while day <= today:
        for connection_id, counts in by_day.get(day, ()):
            latest[connection_id] = counts
        totals = [sum(c[i] for c in latest.values()) for i in range(len(SEVERITIES))]
        trend.append(TrendDay(day, *totals))
        day += timedelta(days=1)
    return trend


# --- the provider roll-up --------------------------------------------------------------------

ROLLUP_SORTS = {
    "name": ("name",),
    "connections": ("connection_count",),
    "critical": ("critical",),
    "high": ("high",),
    "medium": ("medium",),
    "low": ("low",),
    "unresolved": ("unresolved",),
    "oldest_critical": ("oldest_critical",),
    "licence": ("licence_expires",),
    "synced": ("last_synced",),
    "failures": ("sync_failures",),
}


def rollup_list(*, search: str = "", having: str = "", sort: str = "-critical") -> QuerySet:
    """Every organisation with its figures summed over its connections in one GROUP BY:
    connections, unresolved findings per severity (from each connection's AuditState, which
    the audit keeps), the oldest unresolved critical, the soonest licence expiry, the stalest
    last successful sync, connections whose last contact failed, and the worst rule (of the
    connection with the most severe findings).

    `having` narrows to "critical", "high" (high or critical), "failures" or "licence"
    (expiring within 30 days); `sort` is a key of ROLLUP_SORTS, "-" first for descending."""
    audit = "threecx_connections__audit_state__"
    worst_rule = (
        AuditState.objects.filter(organization=OuterRef("pk"))
        .exclude(worst_rule="")
        .order_by("-critical", "-high", "-medium", "-low", "connection_id")
        .values("worst_rule")[:1]
    )
    counts = {
        s.value: Coalesce(Sum(f"{audit}{s.value}"), Value(0), output_field=IntegerField())
        for s in SEVERITIES
    }
    organizations = Organization.objects.annotate(
        connection_count=Count("threecx_connections"),
        **counts,
        suppressed=Coalesce(Sum(f"{audit}suppressed"), Value(0), output_field=IntegerField()),
        oldest_critical=Min(f"{audit}oldest_critical_at"),
        licence_expires=Min(f"{audit}licence_expires_at"),
        last_audit=Max(f"{audit}last_audit_at"),
        last_synced=Min("threecx_connections__directory_state__last_success_at"),
        never_synced=Count(
            "threecx_connections",
            filter=Q(threecx_connections__directory_state__last_success_at__isnull=True),
        ),
        sync_failures=Count("threecx_connections", filter=~Q(threecx_connections__last_error="")),
        worst_rule=Subquery(worst_rule),
    ).annotate(unresolved=F("critical") + F("high") + F("medium") + F("low"))
    if search.strip():
        for word in search.split():
            organizations = organizations.filter(name__icontains=word)
    if having == "critical":
        organizations = organizations.filter(critical__gt=0)
    elif having == "high":
        organizations = organizations.filter(Q(critical__gt=0) | Q(high__gt=0))
    elif having == "failures":
        organizations = organizations.filter(sync_failures__gt=0)
    elif having == "licence":
        organizations = organizations.filter(
            licence_expires__lte=timezone.now() + timedelta(days=30)
        )
    descending = sort.startswith("-")
    fields = ROLLUP_SORTS.get(sort.removeprefix("-"), ROLLUP_SORTS["critical"])
    order = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in fields
    ]
    return organizations.order_by(*order, "name", "pk")


def rollup_versions(organization_ids: list) -> dict[object, list[str]]:
    """The 3CX versions in use per organisation (one query for a page of the roll-up)."""
    rows = (
        ThreeCXConnection.objects.filter(organization_id__in=organization_ids)
        .exclude(version="")
        .values_list("organization_id", "version")
        .distinct()
    )
    found: dict[object, set[str]] = defaultdict(set)
    for organization_id, version in rows:
        found[organization_id].add(version)
    return {key: sorted(values, key=_version_key) for key, values in found.items()}


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))
