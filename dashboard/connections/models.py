"""Background "Test connection" checks: the job row the page polls."""

from django.db import models

from dashboard.jobs.models import Job


class ConnectionCheck(Job):
    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="checks"
    )
    #: What was found: version, FQDN, licence expiry, extension and trunk counts.
    result = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Check of {self.connection_id} ({self.status})"
