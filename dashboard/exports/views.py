"""Export pages: make an export, a user's recent exports, one export's progress, its file.

Exports are not under an organisation's URL, as provider-wide ones belong to none: every view
checks access through the export's own organisation and listing (`export_access_check`), and
answers 404 to anyone who may not see that listing.
"""

import tempfile
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dashboard.exports.models import Export
from dashboard.exports.services import (
    DirectExport,
    export_access_check,
    export_create,
    export_plan,
)
from dashboard.exports.templatetags.exports import export_params
from dashboard.exports.writers import csv_chunks, xlsx_write
from dashboard.htmx import HtmxHttpRequest, fragment_wanted, vary
from dashboard.jobs.htmx import job_poll_response
from dashboard.tenants.selectors import organizations_for_user

EXPORTS_PER_PAGE = 25
STATUS_TARGET = "export-status"
CONTENT_TYPES = {
    Export.Format.CSV: "text/csv; charset=utf-8",
    Export.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportForm(forms.Form):
    """What the export menu posts (templates/exports/_menu.html)."""

    source = forms.CharField(max_length=64)
    org = forms.UUIDField(required=False)
    kwargs = forms.CharField(required=False, max_length=2000)
    params = forms.CharField(required=False, max_length=8000)
    format = forms.ChoiceField(choices=Export.Format.choices, required=False)
    bom = forms.BooleanField(required=False)
    all_fields = forms.BooleanField(required=False)
    listing = forms.CharField(required=False, max_length=2000)

    def query(self, name: str) -> QueryDict:
        return QueryDict(self.cleaned_data.get(name) or "")


@login_required
@require_POST
def export_create_view(request: HtmxHttpRequest) -> HttpResponse:
    """Export a listing: small ones stream back as a file, big ones go to the worker and the
    browser is sent to their page."""
    form = ExportForm(request.POST)
    if not form.is_valid():
        return render(request, "exports/export_refused.html", {"form": form}, status=400)
    data = form.cleaned_data
    plan = export_plan(
        user=request.user,
        source_key=data["source"],
        organization_id=data["org"],
        kwargs=form.query("kwargs").dict(),
        params=export_params(form.query("params")),
        all_fields=data["all_fields"],
    )
    made = export_create(
        plan=plan,
        format=data["format"] or Export.Format.CSV,
        bom=data["bom"],
        listing_url=_local_url(request, data["listing"]),
        request=request,
    )
    return export_response(request, made)


def export_from_listing(
    request: HtmxHttpRequest,
    *,
    source: str,
    organization: Any,
    kwargs: dict[str, Any],
    format: str = Export.Format.CSV,
) -> HttpResponse:
    """A listing's own GET export link (`?format=csv`): the file when it is small enough to
    stream, else a page offering to prepare it in the background (a POST)."""
    params = export_params(request.GET)
    plan = export_plan(
        user=request.user,
        source_key=source,
        organization_id=getattr(organization, "pk", None),
        kwargs={k: v for k, v in kwargs.items() if v not in (None, "")},
        params=params,
    )
    listing_url = _listing_url(request.path, params)
    if plan.background:
        context = {
            "plan": plan,
            "format": format,
            "organization_id": getattr(organization, "pk", "") or "",
            "kwargs": QueryDict(mutable=True),
            "params": params.urlencode(),
            "listing_url": listing_url,
        }
        context["kwargs"].update(plan.scope.kwargs)
        context["kwargs"] = context["kwargs"].urlencode()
        return render(request, "exports/export_offer.html", context)
    made = export_create(
        plan=plan, format=format, bom=True, listing_url=listing_url, request=request
    )
    return export_response(request, made)


def export_response(request: HtmxHttpRequest, made: DirectExport | Export) -> HttpResponse:
    if isinstance(made, DirectExport):
        return direct_response(made)
    url = reverse("exports:detail", args=[made.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def direct_response(made: DirectExport) -> HttpResponse:
    """The file of a small export, in constant memory: CSV streamed as it is written, XLSX
    written to a temporary file first (a zip is only readable once finished)."""
    if made.format == Export.Format.XLSX:
        # FileResponse closes it once sent, which deletes it.
        out = tempfile.TemporaryFile()  # noqa: SIM115
        xlsx_write(made.table, out)
        out.seek(0)
        return FileResponse(
            out,
            as_attachment=True,
            filename=made.filename,
            content_type=CONTENT_TYPES[Export.Format.XLSX],
        )
    response = StreamingHttpResponse(
        csv_chunks(made.table, bom=made.bom), content_type=CONTENT_TYPES[Export.Format.CSV]
    )
    response["Content-Disposition"] = content_disposition_header(True, made.filename)
    return response


@login_required
@require_GET
def export_list(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's exports, newest first, in organisations they can still open."""
    user = request.user
    reachable = Q(organization__in=organizations_for_user(user=user))
    if getattr(user, "is_provider_staff", False):
        reachable |= Q(organization__isnull=True)
    exports = (
        Export.objects.filter(reachable, requested_by=user)
        .select_related("organization")
        .order_by("-created_at")
    )
    page = Paginator(exports, EXPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "exports/export_list.html", {"page": page})


@login_required
@require_GET
def export_detail(request: HtmxHttpRequest, export_id) -> HttpResponse:
    """An export's progress (rows written of total), polled while it runs; its download link
    once done; what went wrong if it failed."""
    export = _export_for(request, export_id)
    fragment = fragment_wanted(request, target=STATUS_TARGET)
    return job_poll_response(
        request,
        export,
        template="exports/_status.html" if fragment else "exports/export_detail.html",
        context=lambda: {"export": export, "status_target": STATUS_TARGET},
    )


@login_required
@require_GET
def export_download(request: HtmxHttpRequest, export_id) -> HttpResponse:
    export = _export_for(request, export_id)
    if not export.is_expired and export.status != Export.Status.SUCCEEDED:
        return redirect("exports:detail", export_id=export.pk)
    if not export.is_expired:
        try:
            file = export.file.open("rb")
        except FileNotFoundError:
            pass  # deleted behind the dashboard's back: as good as expired
        else:
            return FileResponse(
                file,
                as_attachment=True,
                filename=export.filename,
                content_type=CONTENT_TYPES.get(export.format, "application/octet-stream"),
            )
    return vary(render(request, "exports/export_expired.html", {"export": export}, status=410))


def _export_for(request: HtmxHttpRequest, export_id) -> Export:
    export = get_object_or_404(Export.objects.select_related("organization"), pk=export_id)
    export_access_check(export=export, user=request.user)
    return export


def _local_url(request: HtmxHttpRequest, url: str) -> str:
    """`url` if it is a path on this site (where to export again from), else ""."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _listing_url(path: str, params: QueryDict) -> str:
    return f"{path}?{params.urlencode()}" if params else path
