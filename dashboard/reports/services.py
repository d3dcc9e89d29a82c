"""Starting audits, and acknowledging, suppressing and reopening findings."""

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from dashboard.directory.models import DirectoryState
from dashboard.jobs.runner import job_expire_if_stale
from dashboard.reports.engine import (
    audit_run_execute,
    audit_state_refresh,
    findings_acknowledgements_expire,
)
from dashboard.reports.models import AuditRun, Finding
from dashboard.tenants.activity import activity_record
from integrations.threecx.models import ThreeCXConnection

__all__ = [
    "acknowledgements_expire",
    "audit_catch_up",
    "audit_run_execute",
    "audit_run_request",
    "finding_acknowledge",
    "finding_reopen",
]

logger = logging.getLogger(__name__)

BROKER_DOWN = (
    "The audit could not be handed to a worker: the task broker did not answer. Try again "
    "in a moment; if this keeps happening, check that the worker and its broker are running."
)


def audit_run_request(*, connection, trigger: str, requested_by=None, request=None) -> AuditRun:
    """Queue an audit of the connection, or return the one already queued or running.

    The task is sent once the transaction commits. A run someone asked for is written to the
    activity log; the audits that follow syncs are not (the sync is)."""
    active = AuditRun.objects.filter(connection=connection, status__in=AuditRun.ACTIVE).first()
    if active is not None and not job_expire_if_stale(active):
        return active
    user = requested_by if getattr(requested_by, "pk", None) else None
    try:
        with transaction.atomic():
            run = AuditRun.objects.create(
                organization_id=connection.organization_id,
                connection=connection,
                trigger=trigger,
                requested_by=user,
            )
    except IntegrityError:  # another request won the race; the constraint allows one
        return AuditRun.objects.get(connection=connection, status__in=AuditRun.ACTIVE)
    if user is not None:
        activity_record(
            organization=connection.organization,
            actor=user,
            action="reports.audit_requested",
            target=connection,
            details={"run": str(run.pk)},
            request=request,
        )
    transaction.on_commit(lambda: _task_send(run))
    return run


def audit_catch_up(*, run: AuditRun) -> AuditRun | None:
    """After `run` ended: if the directory switched to a newer generation while it read an
    older one (the switch found it running and had nothing to add), audit the new one."""
    if run.status != AuditRun.Status.SUCCEEDED or run.generation is None:
        return None
    current = (
        DirectoryState.objects.filter(connection_id=run.connection_id)
        .values_list("generation", flat=True)
        .first()
    )
    if current is None or current <= run.generation:
        return None
    return audit_run_request(connection=run.connection, trigger=AuditRun.Trigger.SYNC)


def finding_acknowledge(
    *,
    finding: Finding,
    user,
    reason: str,
    until: datetime | None = None,
    suppress: bool = False,
    request=None,
) -> Finding:
    """Acknowledge (still shown and counted) or suppress (hidden by default, counted apart)
    an unresolved finding, with a reason and an optional expiry, after which the finding is
    open again. Callers check that `user` administers the finding's organisation."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why, for whoever reads the report next."})
    now = timezone.now()
    if until is not None and until <= now:
        raise ValidationError({"until": "The expiry must be in the future."})
    if finding.resolved_at is not None:
        raise ValidationError("This finding is resolved: there is nothing to acknowledge.")
    state = Finding.State.SUPPRESSED if suppress else Finding.State.ACKNOWLEDGED
    with transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(
            state=state,
            acknowledged_by=user,
            acknowledged_at=now,
            acknowledged_reason=reason[:500],
            acknowledged_until=until,
        )
        finding.refresh_from_db()
        activity_record(
            organization=finding.connection.organization,
            actor=user,
            action="reports.finding_suppressed" if suppress else "reports.finding_acknowledged",
            target=finding,
            target_label=_label(finding),
            details={
                "rule": finding.rule,
                "reason": finding.acknowledged_reason,
                "until": until.isoformat() if until else None,
            },
            request=request,
        )
        audit_state_refresh(connection=finding.connection)
    return finding


def finding_reopen(*, finding: Finding, user, request=None) -> Finding:
    """Undo an acknowledgement or suppression: the finding is open again."""
    if finding.state not in (Finding.State.ACKNOWLEDGED, Finding.State.SUPPRESSED):
        raise ValidationError("Only an acknowledged or suppressed finding can be reopened.")
    with transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(
            state=Finding.State.OPEN,
            acknowledged_by=None,
            acknowledged_at=None,
            acknowledged_reason="",
            acknowledged_until=None,
        )
        previous = finding.state
        finding.refresh_from_db()
        activity_record(
            organization=finding.connection.organization,
            actor=user,
            action="reports.finding_reopened",
            target=finding,
            target_label=_label(finding),
            details={"rule": finding.rule, "was": previous},
            request=request,
        )
        audit_state_refresh(connection=finding.connection)
    return finding


def acknowledgements_expire() -> int:
    """Acknowledgements and suppressions whose expiry passed end: their findings are open
    again, and their connections' counts say so. Returns how many ended."""
    now = timezone.now()
    due = Finding.objects.filter(
        state__in=[Finding.State.ACKNOWLEDGED, Finding.State.SUPPRESSED],
        acknowledged_until__lte=now,
        resolved_at__isnull=True,
    )
    connection_ids = set(due.values_list("connection_id", flat=True).distinct())
    if not connection_ids:
        return 0
    with transaction.atomic():
        expired = findings_acknowledgements_expire(due, now=now)
        for connection in ThreeCXConnection.objects.filter(pk__in=connection_ids):
            audit_state_refresh(connection=connection, now=now)
    return expired


def _label(finding: Finding) -> str:
    return f"{finding.rule}: {finding.summary}"[:254]


def _task_send(run: AuditRun) -> None:
    """Hand the run to a worker; a run the broker would not take is failed, not left queued
    (a queued run would hold the connection's only slot until it went stale)."""
    from dashboard.reports.tasks import reports_audit

    try:
        reports_audit.delay(str(run.pk))
    except OperationalError:
        logger.exception("Could not queue audit %s", run.pk)
        AuditRun.objects.filter(pk=run.pk, status=AuditRun.Status.QUEUED).update(
            status=AuditRun.Status.FAILED,
            finished_at=timezone.now(),
            error_title="The worker could not be reached",
            error=BROKER_DOWN,
        )
