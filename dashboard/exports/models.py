"""An export prepared in the background: a job whose result is a file in the "exports"
storage, kept for EXPORT_RETENTION_DAYS."""

from typing import Any, ClassVar

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from dashboard.jobs.models import Job


class _ExportsStorage(LazyObject):
    """The storage alias "exports" of settings.STORAGES, looked up when first used (a field's
    storage is otherwise fixed when the model loads) and again after STORAGES changes."""

    def _setup(self) -> None:
        self._wrapped = storages["exports"]


_EXPORTS_STORAGE = _ExportsStorage()


def exports_storage() -> Storage:
    return _EXPORTS_STORAGE


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        _EXPORTS_STORAGE._wrapped = empty


class Export(Job):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    #: Rows are kept after their file expires (they say what was exported, and when);
    #: exports_purge deletes them once JOB_RETENTION_DAYS have passed as well.
    purge_after_retention: ClassVar[bool] = False

    #: None for a provider-wide export (the roll-up of every organisation).
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: The registered ExportSource ("directory.entries") and what rebuilds its table.
    source = models.CharField(max_length=64)
    kwargs = models.JSONField(default=dict, blank=True)
    #: The listing's query string (search, filters, sort) without paging.
    params = models.TextField(blank=True)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.CSV)
    bom = models.BooleanField("byte order mark", default=True)
    all_fields = models.BooleanField(default=False)
    title = models.CharField(max_length=255)
    #: The search, filters and sort in words.
    filters = models.TextField(blank=True)
    #: The page the export was made from, to export again once this one expired.
    listing_url = models.CharField(max_length=2000, blank=True)
    #: The name the file is downloaded as ("demo-company-users-2026-12-01.csv").
    filename = models.CharField(max_length=255)
    file = models.FileField(storage=exports_storage, upload_to="%Y/%m/%d", blank=True)
    rows_written = models.PositiveBigIntegerField(default=0)
    #: How many rows the listing selected when the worker started; None before.
    rows_total = models.PositiveBigIntegerField(null=True, blank=True)
    #: Bytes of the file.
    size = models.PositiveBigIntegerField(null=True, blank=True)
    #: When the file is deleted (set when it is written).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(Job.Meta):
        indexes = [
            models.Index(fields=["requested_by", "-created_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_format_display()}, {self.status})"

    @property
    def is_expired(self) -> bool:
        """Made, but its file is gone (or due to go): downloading it answers 410."""
        return self.status == self.Status.SUCCEEDED and (
            not self.file or (self.expires_at is not None and self.expires_at <= timezone.now())
        )

    @property
    def is_downloadable(self) -> bool:
        return self.status == self.Status.SUCCEEDED and not self.is_expired

    @property
    def percent(self) -> int | None:
        if not self.rows_total:
            return None
        return min(100, self.rows_written * 100 // self.rows_total)
