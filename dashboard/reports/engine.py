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
findings: rules ask for offending rows only and stage them (`dashboard.reports.staging`), the
rules that find many subjects as one INSERT ... SELECT, and the findings are recorded from the
staged hits by a few statements.
"""

import logging
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
from dashboard.reports.rules import RULES, SYSTEM_STATUS, AuditContext, Rule, RuleSkipped
from dashboard.reports.rules.base import parse_time
from dashboard.reports.staging import HitStage

logger = logging.getLogger(__name__)

NOT_SYNCED = "No successful sync of this connection yet."
NOT_IN_PASS = "Not part of this pass."  # noqa: S105 - a reason, not a secret


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
    ctx = AuditContext(connection=connection, state=state, now=now) if state else None
    ran: list[str] = []
    # One transaction: the rules' hits are compared with the findings as they are staged,
    # and the audit state's lock keeps another pass of this connection from recording in
    # between.
    with transaction.atomic(), HitStage.open(connection, now=now) as stage:
        previous = AuditState.objects.select_for_update().filter(connection=connection).first()
        for rule in rules:
            reason = rule_skip_reason(rule, state)
            if reason is None:
                ctx.rule, ctx.stage = rule, stage
                try:
                    # Set-based rules stage their hits themselves and yield none.
                    stage.add(rule.id, rule.evaluate(ctx), severity=rule.severity)
                except RuleSkipped as exc:
                    stage.discard(rule.id)
                    reason = str(exc)
            if reason is not None:
                outcome.rules_skipped.append({"rule": rule.id, "reason": reason})
                continue
            outcome.rules_run.append(rule.id)
            ran.append(rule.id)
        # Rules not run (skipped, or left out of `rules`) keep their findings as they were.
        skipped = {item["rule"] for item in outcome.rules_skipped}
        outcome.rules_skipped += [
            {"rule": rule.id, "reason": NOT_IN_PASS}
            for rule in RULES
            if rule.id not in ran and rule.id not in skipped
        ]
        _findings_record(connection, stage, ran, now=now, outcome=outcome, previous=previous)
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
    stage: HitStage,
    ran: list[str],
    *,
    now: datetime,
    outcome: AuditOutcome,
    previous: AuditState | None,
) -> None:
    """Open, refresh and resolve the findings of the rules that ran (inside a transaction),
    from the hits they staged: a few statements whatever the number of findings. `last_seen`
    of a finding still true is not rewritten: see `finding_last_seen`."""
    findings = Finding.objects.filter(connection=connection)
    # Acknowledgements that ran out end first, so that the refresh below sees them open.
    findings_acknowledgements_expire(findings.filter(rule__in=ran), now=now)
    seen_before = _last_audit_seen(previous)
    _last_seen_keep(findings, ran, seen_before=seen_before)
    outcome.opened, outcome.refreshed, outcome.resolved = stage.merge(
        ran, now=now, seen_before=seen_before
    )


def _last_audit_seen(previous: AuditState | None) -> tuple[datetime, list[str]] | None:
    """(When the previous audit ran, the rules it ran); None before the first audit."""
    if previous is None or previous.last_audit_at is None:
        return None
    skipped = _skipped_ids(previous)
    return previous.last_audit_at, [rule.id for rule in RULES if rule.id not in skipped]


def _last_seen_keep(findings, ran: list[str], *, seen_before) -> None:
    """Write `last_seen` into the unresolved findings of rules that ran at the previous
    audit but not at this one: from now on the column, not the audit's time, says when."""
    if seen_before is None:
        return
    not_run = [rule_id for rule_id in seen_before[1] if rule_id not in ran]
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


def _licence_expiry(state: DirectoryState | None) -> datetime | None:
    if state is None:
        return None
    licence = (state.pbx_settings or {}).get("LicenseStatus") or {}
    return parse_time(
        licence.get("ExpirationDate") or (state.system_status or {}).get("ExpirationDate")
    )
