"""Running the rule catalogue over one connection and keeping findings' history.

A pass evaluates every rule whose data was synced, then, in one transaction: opens the
findings that are new, refreshes those still true (severity/summary/details when they
changed), resolves those no longer true, and writes the day's snapshot and the connection's
AuditState. A condition that comes back after it was resolved opens a new finding. Rules that
could not run leave their findings as they were.

Findings still true are not rewritten just to say so: their "last seen" is the time of the
connection's last audit (AuditState.last_audit_at) as long as their rule ran at it, and the
column is written when that stops being so (resolved, or the rule skipped). Read it with
`finding_last_seen`. Rewriting every open finding's last_seen cost a second and more per pass
on a large PBX, for a value the audit state already holds.

The number of queries depends on the number of rules, not on the number of entries or
findings: rules ask for offending rows only, and findings are written in bulk.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection as database
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    DirectoryState,
    EntryKind,
)
from dashboard.jobs.runner import job_run
from dashboard.reports.models import (
    SEVERITY_RANK,
    AuditRun,
    AuditState,
    Finding,
    FindingSnapshot,
    PhoneNumberVerdict,
    Severity,
)
from dashboard.reports.rules import RULES, SYSTEM_STATUS, AuditContext, Hit, Rule, RuleSkipped
from dashboard.reports.rules.base import parse_time

logger = logging.getLogger(__name__)

BATCH = 2000
NOT_SYNCED = "No successful sync of this connection yet."
NOT_IN_PASS = "Not part of this pass."  # noqa: S105 - a reason, not a secret
#: Fields of a finding that a refresh rewrites when the rule describes it differently now.
REFRESHED = ("severity", "summary", "details", "subject_label", "subject_external_id")
# (`_described_same` unpacks them in this order.)


@dataclass
class AuditOutcome:
    generation: int | None = None
    opened: int = 0
    refreshed: int = 0
    resolved: int = 0
    rules_run: list[str] = field(default_factory=list)
    rules_skipped: list[dict[str, str]] = field(default_factory=list)


def audit_run_execute(*, run_id, worker: str = "") -> AuditRun:
    """Claim a queued audit run and carry it out (once, however often the task arrives)."""
    return job_run(AuditRun, run_id, _work, worker=worker)


def connection_audit(
    *,
    connection,
    run: AuditRun | None = None,
    now: datetime | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> AuditOutcome:
    """Evaluate `rules` over the connection's visible directory and record the findings."""
    now = now or timezone.now()
    state = DirectoryState.objects.select_related("last_run").filter(connection=connection).first()
    outcome = AuditOutcome(generation=state.generation if state else None)
    statistics_ensure()
    hits: dict[str, dict[str, Hit]] = {}
    ctx = AuditContext(connection=connection, state=state, now=now) if state else None
    for rule in rules:
        reason = rule_skip_reason(rule, state)
        if reason is None:
            try:
                found = {}
                for hit in rule.evaluate(ctx):
                    found.setdefault(hit.subject_key, hit)  # the first of duplicate keys wins
            except RuleSkipped as exc:
                reason = str(exc)
        if reason is not None:
            outcome.rules_skipped.append({"rule": rule.id, "reason": reason})
            continue
        outcome.rules_run.append(rule.id)
        hits[rule.id] = found
    # Rules not run (skipped, or left out of `rules`) keep their findings as they were.
    skipped = {item["rule"] for item in outcome.rules_skipped}
    outcome.rules_skipped += [
        {"rule": rule.id, "reason": NOT_IN_PASS}
        for rule in RULES
        if rule.id not in hits and rule.id not in skipped
    ]
    with transaction.atomic():
        previous = AuditState.objects.select_for_update().filter(connection=connection).first()
        _findings_record(connection, hits, now=now, outcome=outcome, previous=previous)
        audit_state_refresh(connection=connection, run=run, now=now, outcome=outcome, state=state)
    return outcome


#: Tables the rules read, and the columns their plans depend on (None: all). The entries'
#: `data` (the whole synced item) is left out: sampling it costs most of the time.
ANALYZED = {
    DirectoryEntry: (
        "organization_id",
        "connection_id",
        "kind",
        "generation_added",
        "generation_removed",
        "number",
        "name",
        "email",
        "phone",
        "mobile",
        "enabled",
    ),
    DirectoryRelation: None,
    PhoneNumberVerdict: None,
}


def statistics_ensure() -> list[str]:
    """ANALYZE the tables the rules read that PostgreSQL has no statistics of yet (a new
    installation, right after its first sync: autovacuum gets to them a minute later);
    returns their names.

    Without statistics the planner takes 100,000 contacts for one row and joins them with
    their number verdicts in nested loops: seconds instead of a tenth. Analyzing costs a few
    tenths, once."""
    if database.vendor != "postgresql":
        return []
    tables = {model._meta.db_table: columns for model, columns in ANALYZED.items()}
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples < 0 "
            "AND relname = ANY(%s) AND pg_relation_size(oid) > 0",
            [list(tables)],
        )
        missing = sorted(name for (name,) in cursor.fetchall())
        for name in missing:
            columns = tables[name]
            listed = f" ({', '.join(columns)})" if columns else ""
            cursor.execute(f"ANALYZE {database.ops.quote_name(name)}{listed}")
    return missing


def rule_skip_reason(rule: Rule, state: DirectoryState | None) -> str | None:
    """Why `rule` cannot run on this directory, or None when it can."""
    if state is None or state.last_success_at is None:
        return NOT_SYNCED
    unavailable = state.unavailable or {}
    synced_kinds = (state.last_run.progress or {}).keys() if state.last_run else None
    for name in rule.reads:
        if name in unavailable:
            return str(unavailable[name])
        if name == SYSTEM_STATUS:
            if not state.system_status:
                return "The system status has not been read from this server yet."
        elif name in EntryKind.values:
            # The last sync predates this kind (the dashboard was updated since it ran).
            if synced_kinds and name not in synced_kinds:
                label = EntryKind(name).label
                return f"{label}s have not been synced yet; the next sync reads them."
        elif name not in (state.pbx_settings or {}):
            return f"{name} has not been read from this server yet."
    return None


def audit_state_refresh(
    *,
    connection,
    run: AuditRun | None = None,
    now: datetime | None = None,
    outcome: AuditOutcome | None = None,
    state: DirectoryState | None = None,
) -> AuditState:
    """Recount the connection's unresolved findings into its AuditState (and today's
    snapshot after an audit). Acknowledging or suppressing a finding calls this too."""
    now = now or timezone.now()
    unresolved = Finding.objects.filter(connection=connection, resolved_at__isnull=True)
    counted = unresolved.exclude(state=Finding.State.SUPPRESSED)
    totals = unresolved.aggregate(
        suppressed=Count("pk", filter=Q(state=Finding.State.SUPPRESSED)),
        oldest_critical_at=Min(
            "first_seen",
            filter=Q(severity=Severity.CRITICAL) & ~Q(state=Finding.State.SUPPRESSED),
        ),
        **{
            severity: Count("pk", filter=Q(severity=severity) & ~Q(state=Finding.State.SUPPRESSED))
            for severity in Severity.values
        },
    )
    per_rule = counted.values("rule", "severity").annotate(n=Count("pk"))
    worst = min(
        per_rule,
        key=lambda row: (SEVERITY_RANK[row["severity"]], -row["n"], row["rule"]),
        default=None,
    )
    values: dict[str, Any] = {
        "organization_id": connection.organization_id,
        "worst_rule": worst["rule"] if worst else "",
        **totals,
    }
    if outcome is not None:  # after an audit: what it read and what it could not run
        values |= {
            "last_run": run,
            "last_audit_at": now,
            "rules_skipped": outcome.rules_skipped,
            "version": (connection.version or "")[:64],
            "licence_expires_at": _licence_expiry(state),
        }
        day = timezone.localdate(now)
        FindingSnapshot.objects.bulk_create(
            [
                FindingSnapshot(
                    connection=connection,
                    organization_id=connection.organization_id,
                    day=day,
                    **{severity: totals[severity] for severity in Severity.values},
                )
            ],
            update_conflicts=True,
            unique_fields=["connection", "day"],
            update_fields=list(Severity.values),
        )
    audit_state, _ = AuditState.objects.update_or_create(connection=connection, defaults=values)
    return audit_state


def _work(run: AuditRun) -> dict[str, Any]:
    outcome = connection_audit(connection=run.connection, run=run)
    logger.info(
        "Audit %s of %s: %s opened, %s refreshed, %s resolved, %s rules skipped",
        run.pk,
        run.connection_id,
        outcome.opened,
        outcome.refreshed,
        outcome.resolved,
        len(outcome.rules_skipped),
    )
    return {
        "generation": outcome.generation,
        "opened": outcome.opened,
        "refreshed": outcome.refreshed,
        "resolved": outcome.resolved,
        "rules_run": outcome.rules_run,
        "rules_skipped": outcome.rules_skipped,
    }


def _findings_record(
    connection,
    hits: dict[str, dict[str, Hit]],
    *,
    now: datetime,
    outcome: AuditOutcome,
    previous: AuditState | None,
) -> None:
    """Open, refresh and resolve the findings of the rules that ran (inside a transaction).

    Set-based: one query reads the unresolved findings' keys and described columns, and only
    rows that change are written (new ones in bulk, resolved ones by id, rewritten ones in
    bulk). `last_seen` of a finding still true is not rewritten: see `finding_last_seen`."""
    findings = Finding.objects.filter(connection=connection)
    # Acknowledgements that ran out end first, so that the refresh below sees them open.
    findings_acknowledgements_expire(findings.filter(rule__in=list(hits)), now=now)
    seen_before = _last_audit_seen(previous)
    _last_seen_keep(findings, hits, previous=previous, seen_before=seen_before)
    to_resolve: list[int] = []
    changed: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    text = _details_text()
    for pk, rule_id, key, *described in _findings_described(connection, list(hits)):
        hit = hits[rule_id].get(key)
        if hit is None:
            to_resolve.append(pk)
            continue
        seen.add((rule_id, key))
        if not _described_same(described, hit, _SEVERITY[rule_id], text=text):
            fresh = _columns(hit, _rule_severity(rule_id))
            changed.append(Finding(pk=pk, last_seen=now, **{n: fresh[n] for n in REFRESHED}))
    for start in range(0, len(to_resolve), BATCH):
        # Last seen true at the previous audit (the column already says so when the rule
        # did not run then).
        resolving = Finding.objects.filter(pk__in=to_resolve[start : start + BATCH])
        if seen_before is not None:
            resolving.filter(rule__in=seen_before[1]).update(last_seen=seen_before[0])
        resolving.update(state=Finding.State.RESOLVED, resolved_at=now)
    Finding.objects.bulk_update(changed, fields=[*REFRESHED, "last_seen"], batch_size=BATCH)
    new = [
        (rule_id, hit)
        for rule_id, found in hits.items()
        for key, hit in found.items()
        if (rule_id, key) not in seen
    ]
    _findings_insert(connection, new, now=now)
    outcome.opened = len(new)
    outcome.refreshed = len(seen)
    outcome.resolved = len(to_resolve)


def _findings_described(connection, rule_ids: list[str]) -> list[tuple]:
    """(pk, rule, subject_key, *REFRESHED) of the connection's unresolved findings of
    `rule_ids`, `details` as the JSON text the database holds.

    A plain cursor, not a queryset: decoding 35,000 findings' details through Django's
    converters was most of a large PBX's warm pass spent recording; `_described_same` decodes
    only the details whose text differs from what the hit would be written as."""
    if not rule_ids:
        return []
    query = Finding.objects.filter(
        connection=connection, resolved_at__isnull=True, rule__in=rule_ids
    ).values_list("pk", "rule", "subject_key", *REFRESHED)
    sql, params = query.query.sql_with_params()
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _described_same(
    described: list, hit: Hit, default_severity: str, *, text: Callable[[Any], str]
) -> bool:
    """Whether a finding's REFRESHED columns, as `_findings_described` reads them, already
    say what `hit` says (as `_columns` writes it); `text`: `_details_text()`. Once per
    finding still true: tens of thousands of times a pass on a large PBX."""
    severity, summary, details, label, external_id = described
    if (
        severity != (hit.severity or default_severity)
        or summary != hit.summary[:500]
        or label != hit.subject_label[:255]
        or external_id != hit.subject_external_id
    ):
        return False
    if isinstance(details, str):
        # Equal texts are equal details; otherwise only decoding tells (key order).
        return details == text(hit.details) or json.loads(details) == hit.details
    return details == hit.details  # a driver that decodes JSON itself


def _details_text() -> Callable[[Any], str]:
    """How the database returns the JSON of details it stores, for details whose keys are in
    jsonb's order (by length, then bytes; as the busiest rules write them): jsonb's text on
    PostgreSQL (", " and ": " between items, non-ASCII as is), Django's json.dumps elsewhere.
    Only a shortcut: a text that differs is decoded and compared."""
    if database.vendor == "postgresql":
        return lambda details: json.dumps(details, ensure_ascii=False)
    return json.dumps


#: Columns a new finding is written with (the others are NULL).
INSERTED = (
    "organization_id",
    "connection_id",
    "rule",
    "severity",
    "subject_kind",
    "subject_external_id",
    "subject_key",
    "subject_label",
    "summary",
    "details",
    "state",
    "first_seen",
    "last_seen",
    "acknowledged_reason",
)


def _findings_insert(connection, new: list[tuple[str, Hit]], *, now: datetime) -> None:
    """New findings for (rule id, hit) pairs: bulk_create, or COPY on PostgreSQL. Django's
    bulk insert there passes each column as an array, whose text the driver escapes in Python
    (5 s for the 35,000 findings of a large PBX's first audit; COPY takes a fraction of it),
    and rows go to COPY as tuples: 35,000 model instances cost a second more."""
    if database.vendor != "postgresql" or len(new) < BATCH:
        findings = [
            Finding(
                organization_id=connection.organization_id,
                connection=connection,
                rule=rule_id,
                first_seen=now,
                last_seen=now,
                **_columns(hit, _rule_severity(rule_id)),
            )
            for rule_id, hit in new
        ]
        Finding.objects.bulk_create(findings, batch_size=BATCH)
        return
    names = ", ".join(database.ops.quote_name(name) for name in INSERTED)
    table = database.ops.quote_name(Finding._meta.db_table)
    organization_id, connection_id = connection.organization_id, connection.pk
    state = Finding.State.OPEN.value
    with (
        database.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for rule_id, hit in new:
            columns = _columns(hit, _rule_severity(rule_id))
            # In INSERTED's order.
            copy.write_row(
                (
                    organization_id,
                    connection_id,
                    rule_id,
                    columns["severity"],
                    columns["subject_kind"],
                    columns["subject_external_id"],
                    columns["subject_key"],
                    columns["subject_label"],
                    columns["summary"],
                    json.dumps(columns["details"]),
                    state,
                    now,
                    now,
                    "",
                )
            )


def _last_audit_seen(previous: AuditState | None) -> tuple[datetime, list[str]] | None:
    """(When the previous audit ran, the rules it ran); None before the first audit."""
    if previous is None or previous.last_audit_at is None:
        return None
    skipped = _skipped_ids(previous)
    return previous.last_audit_at, [rule.id for rule in RULES if rule.id not in skipped]


def _last_seen_keep(findings, hits, *, previous, seen_before) -> None:
    """Write `last_seen` into the unresolved findings of rules that ran at the previous
    audit but not at this one: from now on the column, not the audit's time, says when."""
    if seen_before is None:
        return
    not_run = [rule_id for rule_id in seen_before[1] if rule_id not in hits]
    if not_run:
        findings.filter(resolved_at__isnull=True, rule__in=not_run).update(last_seen=seen_before[0])


def _skipped_ids(audit_state: AuditState) -> set[str]:
    return {item.get("rule") for item in audit_state.rules_skipped or [] if isinstance(item, dict)}


def finding_last_seen(*, finding: Finding, audit_state: AuditState | None = None) -> datetime:
    """When `finding`'s condition was last seen true.

    An audit does not rewrite every finding still true (tens of thousands of rows on a large
    PBX): for an unresolved finding whose rule ran at the connection's last audit, that
    audit's time is when it was last seen; otherwise (resolved, or its rule skipped) the
    finding's own `last_seen` says it. `audit_state`: the connection's (read when omitted).
    """
    if finding.resolved_at is not None:
        return finding.last_seen
    if audit_state is None:
        audit_state = AuditState.objects.filter(connection_id=finding.connection_id).first()
    if (
        audit_state is None
        or audit_state.last_audit_at is None
        or finding.rule in _skipped_ids(audit_state)
    ):
        return finding.last_seen
    return max(finding.last_seen, audit_state.last_audit_at)


def findings_acknowledgements_expire(findings, *, now: datetime) -> int:
    """Acknowledged or suppressed findings among `findings` whose expiry has passed go back
    to open; returns how many."""
    return findings.filter(
        state__in=[Finding.State.ACKNOWLEDGED, Finding.State.SUPPRESSED],
        acknowledged_until__lte=now,
        resolved_at__isnull=True,
    ).update(
        state=Finding.State.OPEN,
        acknowledged_by=None,
        acknowledged_at=None,
        acknowledged_reason="",
        acknowledged_until=None,
    )


def _columns(hit: Hit, default_severity: str) -> dict[str, Any]:
    return {
        "severity": hit.severity or default_severity,
        "subject_kind": hit.subject_kind[:32],
        "subject_external_id": hit.subject_external_id,
        "subject_key": hit.subject_key[:255],
        "subject_label": hit.subject_label[:255],
        "summary": hit.summary[:500],
        "details": hit.details,
    }


def _rule_severity(rule_id: str) -> str:
    return _SEVERITY[rule_id]


_SEVERITY = {rule.id: rule.severity for rule in RULES}


def _licence_expiry(state: DirectoryState | None) -> datetime | None:
    if state is None:
        return None
    licence = (state.pbx_settings or {}).get("LicenseStatus") or {}
    return parse_time(
        licence.get("ExpirationDate") or (state.system_status or {}).get("ExpirationDate")
    )
