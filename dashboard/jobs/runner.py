"""Carrying out a job: claim it once, keep its heartbeat, always finish it.

Like NetBox's JobRunner (whose handle() always terminates the job), with claims by a
conditional update as healthchecks' sendalerts does: of all the workers a task may reach
(a redelivered message, a second worker), only the one whose update moved the row from
queued to running carries it out. Every finishing write is conditional on the job still
running, so a job already declared dead stays as it was declared.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.db import DatabaseError
from django.db import connection as db
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.jobs.models import Job

logger = logging.getLogger(__name__)

J = TypeVar("J", bound=Job)

UNEXPECTED_TITLE = "Unexpected error"
UNEXPECTED_MESSAGE = (
    "The dashboard failed while doing this; the error was logged. Try again, and tell your "
    "administrator if it keeps happening."
)
LOST_TITLE = "The worker stopped"
LOST_MESSAGE = (
    "The background worker doing this stopped responding (it was stopped or killed) before "
    "it finished. Try again."
)
UNCLAIMED_TITLE = "The worker did not pick this up"
UNCLAIMED_MESSAGE = (
    "No background worker started this within {wait}: the worker is stopped or busy. Try "
    "again, and tell your administrator if it keeps happening."
)


class JobFailed(Exception):
    """An expected failure, with the title and message the page shows for it."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message


def job_run(
    model: type[J], job_id, work: Callable[[J], dict[str, Any] | None], *, worker: str = ""
) -> J:
    """Claim the queued job `job_id` and carry it out with `work`; return it as it ended.

    `work(job)` returns the fields to record with success, or raises JobFailed. Any other
    exception marks the job failed with a generic message and is raised again for the task
    to log. A job that is not queued (finished, or claimed elsewhere) is returned untouched.
    """
    job = job_claim(model, job_id, worker=worker)
    if job is None:
        return model.objects.get(pk=job_id)
    try:
        with _Heartbeat(job):
            fields = work(job) or {}
    except JobFailed as exc:
        job_fail(job, title=exc.title, message=exc.message)
    except BaseException:
        # Whatever stops the work (a bug, a time limit, a warm shutdown), the row must not be
        # left running for the page to poll.
        logger.exception("%s %s failed unexpectedly", model._meta.verbose_name, job_id)
        job_fail(job, title=UNEXPECTED_TITLE, message=UNEXPECTED_MESSAGE)
        raise
    else:
        job_succeed(job, **fields)
    return job


def job_claim(model: type[J], job_id, *, worker: str = "") -> J | None:
    """Move a queued job to running; None when it was not queued any more."""
    now = timezone.now()
    claimed = model.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker[:255]
    )
    return model.objects.get(pk=job_id) if claimed == 1 else None


def job_heartbeat(job: Job, *, condition: Q | None = None, **fields: Any) -> bool:
    """Record that the job's worker is alive, saving `fields` (its progress) in the same
    write; False once the job is not running any more (declared dead, cancelled) or does not
    meet `condition`, when the worker should stop."""
    running = type(job).objects.filter(pk=job.pk, status=Job.Status.RUNNING)
    if condition is not None:
        running = running.filter(condition)
    return bool(running.update(heartbeat_at=timezone.now(), **fields))


def job_succeed(job: J, **fields: Any) -> J:
    return _finish(job, status=Job.Status.SUCCEEDED, **fields)


def job_fail(job: J, *, title: str, message: str) -> J:
    return _finish(job, status=Job.Status.FAILED, error_title=title[:100], error=message)


def job_expire_if_stale(job: Job) -> bool:
    """Apply the stale rule to one job (the page polling it does); True if it just failed."""
    if not job.is_active or not _looks_stale(job, timezone.now()):
        return False
    expired = _expire(type(job).objects.filter(pk=job.pk))
    job.refresh_from_db()
    return expired > 0


def jobs_expire_stale(model: type[Job]) -> int:
    """Fail every job of `model` that lost its worker or that no worker picked up."""
    return _expire(model.objects.all())


def jobs_purge(model: type[Job], *, older_than: timedelta) -> int:
    """Delete the jobs of `model` that finished more than `older_than` ago, unless the model
    keeps its jobs (`purge_after_retention = False`)."""
    if not model.purge_after_retention:
        return 0
    cutoff = timezone.now() - older_than
    _, deleted = model.objects.filter(status__in=model.FINISHED, finished_at__lt=cutoff).delete()
    return deleted.get(model._meta.label, 0)


def job_models() -> list[type[Job]]:
    """Every concrete job model of the installed apps, for the sweeps that serve them all."""
    return [model for model in apps.get_models() if issubclass(model, Job)]


def worker_name(hostname: str | None = None) -> str:
    """Who claims a job: the Celery worker's name (or the host) and the process id."""
    return f"{hostname or socket.gethostname()} pid {os.getpid()}"


def _finish(job: J, *, status: str, **fields: Any) -> J:
    now = timezone.now()
    fields |= {"status": status, "finished_at": now, "heartbeat_at": now}
    if type(job).objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields):
        for name, value in fields.items():
            setattr(job, name, value)
    else:
        job.refresh_from_db()
    return job


def _looks_stale(job: Job, now) -> bool:
    cutoff = now - job.stale_after()
    if job.status == Job.Status.QUEUED:
        return job.created_at < cutoff
    return (job.heartbeat_at or job.created_at) < cutoff


def _expire(queryset: QuerySet) -> int:
    model = queryset.model
    expired = model.expire_stale(queryset)
    if expired is not None:
        return expired
    now = timezone.now()
    cutoff = now - model.stale_after()
    finished = {"status": Job.Status.FAILED, "finished_at": now}
    # A running job with no heartbeat at all was claimed by code older than the heartbeat.
    lost = queryset.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff),
        status=Job.Status.RUNNING,
    ).update(**finished, error_title=LOST_TITLE, error=LOST_MESSAGE)
    unclaimed = queryset.filter(status=Job.Status.QUEUED, created_at__lt=cutoff).update(
        **finished,
        error_title=UNCLAIMED_TITLE,
        error=UNCLAIMED_MESSAGE.format(wait=_duration(model.stale_after())),
    )
    return lost + unclaimed


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class _Heartbeat:
    """Beats the job's heartbeat from a thread while its work runs, so that a job busy in one
    long step (a slow server's retries) is not mistaken for one whose worker died."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._interval = job.stale_after().total_seconds() / 4
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.pk}", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stopped.wait(self._interval):
                try:
                    if not job_heartbeat(self._job):
                        return
                except DatabaseError:
                    logger.warning("Could not record the heartbeat of job %s", self._job.pk)
        finally:
            db.close()  # this thread's own connection
