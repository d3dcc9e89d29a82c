"""The one shape of a background job: a row the worker updates and the page polls.

Concrete jobs (a connection check, a storage browse, ...) inherit `Job`, add what they are
about and what they found, and are carried out by `dashboard.jobs.runner.job_run`. The field
names are those of `SyncRun`, so that it can adopt the same shape.
"""

import uuid
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

#: A job still queued after this long is shown with a warning that no worker took it yet.
UNCLAIMED_WARNING_AFTER = timedelta(seconds=15)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE: ClassVar[tuple[str, ...]] = (Status.QUEUED, Status.RUNNING)
    FINISHED: ClassVar[tuple[str, ...]] = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    #: Whether beat deletes finished jobs after JOB_RETENTION_DAYS. False for jobs whose rows
    #: are history users come back to (a sync run and its changes).
    purge_after_retention: ClassVar[bool] = True

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Refreshed by the worker while the job runs; a running job whose heartbeat is older
    #: than `stale_after()` lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    #: Which worker process claimed it ("host pid 123"), for whoever investigates.
    worker = models.CharField(max_length=255, blank=True)
    error_title = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @classmethod
    def stale_after(cls) -> timedelta:
        """How long a job may show no sign of life (queued and not picked up, or running
        without a heartbeat) before it is marked failed."""
        return timedelta(seconds=settings.JOB_STALE_AFTER)

    @classmethod
    def expire_stale(cls, jobs: QuerySet) -> int | None:
        """Fail the stale ones among `jobs` this model's own way and say how many; None
        leaves them to the runner's rule (marked failed, with nothing to undo).

        A job whose work writes beyond its own row (a sync's new directory generation)
        overrides this, so that whichever sweep or poll finds it stale also cleans up."""
        return None

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_unclaimed(self) -> bool:
        """Still queued a while after it was asked for: the worker is probably not running."""
        return (
            self.status == self.Status.QUEUED
            and timezone.now() - self.created_at > UNCLAIMED_WARNING_AFTER
        )
