"""Starting, cancelling and scheduling directory syncs."""

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu.exceptions import OperationalError

from dashboard.directory.models import DirectoryState, SyncInterval, SyncRun
from dashboard.directory.sync import sync_runs_mark_stale
from dashboard.tenants.activity import activity_record

logger = logging.getLogger(__name__)

INTERVAL_HOURS = {SyncInterval.HOURLY: 1, SyncInterval.EVERY_6_HOURS: 6, SyncInterval.DAILY: 24}


def sync_run_request(
    *,
    connection,
    trigger: str = SyncRun.Trigger.MANUAL,
    requested_by=None,
    attempt: int = 1,
    countdown: float = 0,
    request=None,
    enqueue: bool = True,
) -> tuple[SyncRun, bool]:
    """Queue a sync, or return the one already queued or running for this connection.

    Returns (run, created). The task is sent only once the transaction commits; with
    `enqueue=False` none is sent and the caller runs the sync itself (sync_run_execute).
    """
    sync_runs_mark_stale()
    active = SyncRun.objects.filter(connection=connection, status__in=SyncRun.ACTIVE).first()
    if active is not None:
        return active, False
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                organization_id=connection.organization_id,
                connection=connection,
                trigger=trigger,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
                attempt=attempt,
            )
    except IntegrityError:  # another request won the race; the constraint allows one
        return SyncRun.objects.get(connection=connection, status__in=SyncRun.ACTIVE), False
    if requested_by is not None and getattr(requested_by, "pk", None):
        activity_record(
            organization=connection.organization,
            actor=requested_by,
            action="directory.sync_started",
            target=connection,
            details={"run": str(run.pk)},
            request=request,
        )
    if enqueue:
        transaction.on_commit(lambda: _task_send(run, countdown=countdown))
    return run, True


def sync_run_cancel(*, run: SyncRun, actor=None, request=None) -> SyncRun:
    """Cancel a queued run at once; ask a running one to stop at its next page."""
    now = timezone.now()
    if SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.CANCELLED, finished_at=now, error="Cancelled before it started."
    ):
        pass
    else:
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            cancel_requested=True
        )
    if actor is not None and getattr(actor, "pk", None):
        activity_record(
            organization=run.connection.organization,
            actor=actor,
            action="directory.sync_cancelled",
            target=run.connection,
            details={"run": str(run.pk)},
            request=request,
        )
    run.refresh_from_db()
    return run


def sync_retry_schedule(*, run: SyncRun) -> SyncRun | None:
    """After a transient failure, queue another attempt later (a few times, then stop)."""
    delays = settings.DIRECTORY_SYNC_RETRY_DELAYS
    if run.status != SyncRun.Status.FAILED or run.error_permanent or run.attempt > len(delays):
        return None
    retry, created = sync_run_request(
        connection=run.connection,
        trigger=SyncRun.Trigger.RETRY,
        attempt=run.attempt + 1,
        countdown=delays[run.attempt - 1],
    )
    return retry if created else None


def sync_schedule_update(*, connection, interval: str) -> DirectoryState:
    """Set how often the connection syncs; keeps django-celery-beat's schedule in step."""
    state, _ = DirectoryState.objects.get_or_create(connection=connection)
    state.sync_interval = interval
    state.save(update_fields=["sync_interval"])
    name = f"directory-sync-{connection.pk}"
    if interval == SyncInterval.OFF:
        PeriodicTask.objects.filter(name=name).delete()
        return state
    every, _ = IntervalSchedule.objects.get_or_create(
        every=INTERVAL_HOURS[SyncInterval(interval)], period=IntervalSchedule.HOURS
    )
    PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": "directory.sync_scheduled",
            "interval": every,
            "kwargs": json.dumps({"connection_id": str(connection.pk)}),
            "enabled": True,
        },
    )
    return state


def _task_send(run: SyncRun, *, countdown: float) -> None:
    """Hand the run to a worker. A run the broker would not take is failed, not left queued:
    a queued run never starts nor goes stale, and would block every later sync."""
    from dashboard.directory.tasks import directory_sync

    try:
        directory_sync.apply_async(args=[str(run.pk)], countdown=countdown or None)
    except OperationalError:
        logger.exception("Could not queue directory sync %s", run.pk)
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
            error="The sync could not be handed to a worker: the task broker did not answer. "
            "Try again in a moment; if this keeps happening, check that Redis is running.",
            error_permanent=False,
        )
