"""Storage browsing: one row per Get Directory Info question, which the page polls."""

from django.db import models

from dashboard.jobs.models import Job
from integrations.threecx import crypto


class StorageBrowse(Job):
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="storage_browses"
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
    #: The server's answer as it came: {"Path": ..., "Dirs": [...]}.
    result = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.filesystem} {self.path or '(root)'} on {self.connection_id} ({self.status})"

    def parameters_typed(self) -> str:
        """The Advanced panel's JSON as the user typed it ("" for a plain browse)."""
        return crypto.decrypt(self.raw_parameters) if self.raw_parameters else ""
