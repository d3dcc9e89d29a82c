"""Exports' writes: plan one, make it (straight back or on the worker), carry it out, purge.

An export is planned from what its listing's page shows: the source rebuilds the table with
the listing's own selector, FilterSet and sort, checking access as the listing does. Small
exports stream straight back; big ones, and those a source always sends to the background
(across connections or organisations), become an `Export` job. Either way the export is
recorded once, when it is made, in the activity log.
"""

import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.http import Http404, HttpRequest, QueryDict
from django.utils import timezone
from django.utils.text import slugify

from dashboard.exports.models import Export
from dashboard.exports.sources import ExportScope, ExportSource, export_source_get
from dashboard.exports.tables import ExportTable
from dashboard.exports.writers import csv_write, xlsx_write
from dashboard.jobs.runner import JobFailed, job_heartbeat, job_run
from dashboard.tenants.access import organization_access_get
from dashboard.tenants.activity import activity_record

FORMATS = tuple(Export.Format.values)


@dataclass(frozen=True)
class ExportPlan:
    """A listing's table for one user, and where it will be made."""

    source: ExportSource
    scope: ExportScope
    table: ExportTable
    #: How many rows the table holds now.
    rows: int
    #: Whether it is made on the worker.
    background: bool

    @property
    def organization(self):
        return self.scope.organization


@dataclass(frozen=True)
class DirectExport:
    """An export small enough to stream straight back."""

    table: ExportTable
    format: str
    bom: bool
    filename: str


def export_plan(
    *,
    user: Any,
    source_key: str,
    organization_id: uuid.UUID | str | None,
    kwargs: dict[str, str] | None = None,
    params: QueryDict | None = None,
    all_fields: bool = False,
) -> ExportPlan:
    """Rebuild the listing `source_key` as `user` sees it and decide where to make it.

    Raises Http404 for an unknown source, an organisation the user may not open, or a
    listing they may not see (PermissionDenied where the listing's view answers 403).
    """
    try:
        source = export_source_get(source_key)
    except LookupError:
        raise Http404("There is no such list to export.") from None
    organization = None
    if organization_id:
        organization = organization_access_get(
            user=user, organization_id=organization_id
        ).organization
    elif not getattr(user, "is_provider_staff", False):
        raise Http404("No such list.")  # a table of no organisation spans them all
    scope = ExportScope(
        user=user,
        organization=organization,
        params=_frozen(params),
        kwargs={k: str(v) for k, v in (kwargs or {}).items()},
        all_fields=all_fields and source.has_all_fields,
    )
    table = source.build(scope)
    rows = table.count()
    background = source.background(scope) or rows > settings.EXPORT_DIRECT_MAX_ROWS
    return ExportPlan(source=source, scope=scope, table=table, rows=rows, background=background)


def export_create(
    *,
    plan: ExportPlan,
    format: str,
    bom: bool = True,
    listing_url: str = "",
    request: HttpRequest | None = None,
) -> DirectExport | Export:
    """Make the planned export: a `DirectExport` to stream now, or a queued `Export` job the
    worker makes once this transaction commits. Records it in the activity log either way."""
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}.")
    filename = export_filename(plan.table, format)
    if not plan.background:
        _record(plan, format=format, bom=bom, target=None, request=request)
        return DirectExport(table=plan.table, format=format, bom=bom, filename=filename)
    with transaction.atomic():
        export = Export.objects.create(
            organization=plan.organization,
            requested_by=plan.scope.user,
            source=plan.source.key,
            kwargs=plan.scope.kwargs,
            params=plan.scope.params.urlencode(),
            format=format,
            bom=bom,
            all_fields=plan.scope.all_fields,
            title=plan.table.title[:255],
            filters=plan.table.filters,
            listing_url=listing_url[:2000],
            filename=filename,
            rows_total=plan.rows,
        )
        _record(plan, format=format, bom=bom, target=export, request=request)
        from dashboard.exports.tasks import export_run_task

        transaction.on_commit(lambda: export_run_task.delay(str(export.pk)))
    return export


def export_run(*, export_id: uuid.UUID | str, worker: str = "") -> Export:
    """Make the file of a queued export (the worker's part), reporting rows written as its
    progress. Runs once per row: an export no longer queued is returned untouched."""
    saved: list[str] = []

    def work(export: Export) -> dict[str, Any]:
        table = _table_again(export)
        total = table.count()
        job_heartbeat(export, rows_total=total)

        def progress(rows: int) -> None:
            if not job_heartbeat(export, rows_written=rows, rows_total=max(total, rows)):
                raise JobFailed(
                    "The export was stopped", "It stopped before it finished. Export again."
                )

        with tempfile.TemporaryFile() as out:
            if export.format == Export.Format.XLSX:
                rows = xlsx_write(table, out, progress=progress)
            else:
                rows = csv_write(table, out, bom=export.bom, progress=progress)
            size = out.tell()
            out.seek(0)
            name = export.file.field.generate_filename(export, f"{export.pk}.{export.format}")
            name = export.file.storage.save(name, File(out))
            saved.append(name)
        return {
            "file": name,
            "rows_written": rows,
            "rows_total": max(total, rows),
            "size": size,
            "expires_at": timezone.now() + timedelta(days=settings.EXPORT_RETENTION_DAYS),
        }

    export = job_run(Export, export_id, work, worker=worker)
    if saved and export.status != Export.Status.SUCCEEDED:
        # Declared dead while it wrote: nobody can download this file.
        Export.file.field.storage.delete(saved[0])
    return export


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete the files of exports whose retention has passed (their rows stay, and show as
    expired), then the rows of exports that ended JOB_RETENTION_DAYS ago and have no file.
    Returns how many files were deleted."""
    now = now or timezone.now()
    storage = Export.file.field.storage
    deleted = 0
    for export in Export.objects.filter(expires_at__lte=now).exclude(file="").only("file"):
        storage.delete(export.file.name)
        Export.objects.filter(pk=export.pk).update(file="")
        deleted += 1
    cutoff = now - timedelta(days=settings.JOB_RETENTION_DAYS)
    Export.objects.filter(status__in=Export.FINISHED, finished_at__lt=cutoff, file="").delete()
    return deleted


def export_access_check(*, export: Export, user: Any) -> None:
    """Raise Http404 unless `user` may download `export`: whoever may still open its
    listing (members of its organisation with the listing's role, provider staff for
    provider-wide ones), as the listing's own source decides."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such export.")
    if export.organization_id is None and not getattr(user, "is_provider_staff", False):
        raise Http404("No such export.")
    try:
        source = export_source_get(export.source)
        organization = None
        if export.organization_id is not None:
            organization = organization_access_get(
                user=user, organization_id=export.organization_id
            ).organization
        # The same access whatever the columns: "all fields" needs no reading here.
        source.build(_scope(export, user=user, organization=organization, all_fields=False))
    except (LookupError, Http404, PermissionDenied):
        raise Http404("No such export.") from None


def export_filename(table: ExportTable, format: str) -> str:
    stem = slugify(table.slug)[:100] or "export"
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{format}"


# --- helpers ---------------------------------------------------------------------------------


def _frozen(params: QueryDict | None) -> QueryDict:
    """An immutable copy: a scope must not change under the source that reads it."""
    return QueryDict(params.urlencode() if params is not None else "")


def _scope(
    export: Export, *, user: Any, organization: Any, all_fields: bool | None = None
) -> ExportScope:
    """The scope an export was made with, for `user`."""
    return ExportScope(
        user=user,
        organization=organization,
        params=_frozen(QueryDict(export.params)),
        kwargs=dict(export.kwargs),
        all_fields=export.all_fields if all_fields is None else all_fields,
    )


def _table_again(export: Export) -> ExportTable:
    """The export's table, rebuilt on the worker with its requester's current access."""
    user = export.requested_by
    if user is None or not user.is_active:
        raise JobFailed(
            "The account is gone", "The person who asked for this export has no account now."
        )
    try:
        source = export_source_get(export.source)
    except LookupError:
        raise JobFailed(
            "This list cannot be exported", "This version of the dashboard cannot export it."
        ) from None
    organization = None
    try:
        if export.organization_id is not None:
            organization = organization_access_get(
                user=user, organization_id=export.organization_id
            ).organization
        scope = _scope(export, user=user, organization=organization)
        return source.build(scope)
    except (Http404, PermissionDenied):
        raise JobFailed(
            "No longer allowed",
            "The list is gone, or you may no longer see it: nothing was exported.",
        ) from None


def _record(
    plan: ExportPlan,
    *,
    format: str,
    bom: bool,
    target: Export | None,
    request: HttpRequest | None,
) -> None:
    activity_record(
        organization=plan.organization,
        actor=plan.scope.user,
        action="export.created",
        target=target,
        target_label=plan.table.title[:254],
        details={
            "source": plan.source.key,
            "format": format,
            "filters": plan.table.filters,
            "rows": plan.rows,
            "all_fields": plan.scope.all_fields,
            "bom": bom if format == Export.Format.CSV else False,
            "background": plan.background,
        },
        request=request,
    )
