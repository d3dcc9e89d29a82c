"""Starting, cancelling and scheduling directory syncs."""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu.exceptions import OperationalError

from dashboard.directory import sync
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
    confirm_removals: bool = False,
    request=None,
    enqueue: bool = True,
) -> tuple[SyncRun, bool]:
    """Queue a sync, or return the one already queued or running for this connection.

    Returns (run, created). While a run waits for a review of its removals, scheduled and
    retry syncs return that run instead of piling up; a sync someone asks for runs and, once
    a worker starts it, supersedes the held run. With `confirm_removals` the run switches
    however much it removes. The task is sent only once the transaction commits; with
    `enqueue=False` none is sent and the caller runs the sync itself (sync_run_execute).
    """
    sync_runs_mark_stale()
    active = SyncRun.objects.filter(connection=connection, status__in=SyncRun.ACTIVE).first()
    if active is not None:
        return active, False
    if trigger != SyncRun.Trigger.MANUAL:
        held = SyncRun.objects.filter(
            connection=connection, status=SyncRun.Status.NEEDS_REVIEW
        ).first()
        if held is not None:
            return held, False
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                organization_id=connection.organization_id,
                connection=connection,
                trigger=trigger,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
                attempt=attempt,
                confirm_removals=confirm_removals,
                scheduled_for=timezone.now() + timedelta(seconds=countdown) if countdown else None,
            )
    except IntegrityError:  # another request won the race; the constraint allows one
        return SyncRun.objects.get(connection=connection, status__in=SyncRun.ACTIVE), False
    if requested_by is not None and getattr(requested_by, "pk", None):
        activity_record(
            organization=connection.organization,
            actor=requested_by,
            action=(
                "directory.sync_started_confirmed" if confirm_removals else "directory.sync_started"
            ),
            target=connection,
            details={"run": str(run.pk)},
            request=request,
        )
    if enqueue:
        transaction.on_commit(lambda: _task_send(run, countdown=countdown))
    return run, True


def sync_run_cancel(*, run: SyncRun, actor=None, request=None) -> SyncRun:
    """Cancel a queued run at once; ask a running one to stop at its next page.

    The activity log says what happened: "cancelled" only for a run that had not started;
    for a running one, that stopping was asked for (the worker logs the cancellation when
    it stops, and a run that finished first stays succeeded and logs nothing)."""
    now = timezone.now()
    if SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.CANCELLED, finished_at=now, error="Cancelled before it started."
    ):
        action = "directory.sync_cancelled"
    elif SyncRun.objects.filter(
        pk=run.pk, status=SyncRun.Status.RUNNING, cancel_requested=False
    ).update(cancel_requested=True):
        action = "directory.sync_cancel_requested"
    else:
        action = None  # it ended meanwhile, or stopping was asked for already
    if action and actor is not None and getattr(actor, "pk", None):
        activity_record(
            organization=run.connection.organization,
            actor=actor,
            action=action,
            target=run.connection,
            details={"run": str(run.pk)},
            request=request,
        )
    run.refresh_from_db()
    return run


def sync_review_apply(*, run: SyncRun, actor, request=None) -> bool:
    """Apply a run held for review: its removals too. False if it is not held any more."""
    applied = sync.sync_review_apply(run=run, log_line=f"Removals applied by {actor}.")
    if applied:
        activity_record(
            organization=run.connection.organization,
            actor=actor,
            action="directory.sync_review_applied",
            target=run.connection,
            details={"run": str(run.pk), "removed": run.removed},
            request=request,
        )
    return applied


def sync_review_discard(*, run: SyncRun, actor, request=None) -> bool:
    """Drop what a held run wrote; the directory stays as it is. False if it is not held."""
    discarded = sync.sync_reviews_discard(
        connection_id=run.connection_id, run_id=run.pk, reason=f"Discarded by {actor}."
    )
    if discarded:
        activity_record(
            organization=run.connection.organization,
            actor=actor,
            action="directory.sync_review_discarded",
            target=run.connection,
            details={"run": str(run.pk), "removed": run.removed},
            request=request,
        )
    return bool(discarded)


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


def sync_review_threshold_update(
    *, connection, percent: int | None, count: int | None
) -> DirectoryState:
    """Set when a sync is held for review: it removes more than `percent` % of a kind's
    visible entries and more than `count` of them. None leaves a value as it is."""
    state, _ = DirectoryState.objects.get_or_create(connection=connection)
    changes = {"removal_review_percent": percent, "removal_review_count": count}
    changes = {name: value for name, value in changes.items() if value is not None}
    for name, value in changes.items():
        setattr(state, name, value)
    state.save(update_fields=list(changes))
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
