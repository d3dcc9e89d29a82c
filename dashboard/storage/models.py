"""Storage browsing: one row per Get Directory Info question, which the page polls."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.threecx import crypto

#: A question still queued after this long suggests no worker is consuming.
STALE_AFTER = timedelta(seconds=15)


class StorageBrowse(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+"
    )
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="storage_browses"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filesystem = models.CharField(max_length=32)
    path = models.TextField(blank=True)
    #: The folder the breadcrumb starts from: the server's answer for an empty path, carried
    #: along while the user clicks through folders. Empty when not known.
    root = models.TextField(blank=True)
    #: The Parameters JSON as typed in the Advanced panel, encrypted (its "Json" may hold a
    #: storage location's credentials): read it with parameters_typed(). Empty for a plain
    #: browse.
    raw_parameters = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: The server's answer as it came: {"Path": ..., "Dirs": [...]}.
    result = models.JSONField(default=dict, blank=True)
    error_title = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filesystem} {self.path or '(root)'} on {self.connection_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def is_stale(self) -> bool:
        """Still queued long after it was asked: the worker is probably not running."""
        return self.status == self.Status.QUEUED and timezone.now() - self.created_at > STALE_AFTER

    def parameters_typed(self) -> str:
        """The Advanced panel's JSON as the user typed it ("" for a plain browse)."""
        return crypto.decrypt(self.raw_parameters) if self.raw_parameters else ""
