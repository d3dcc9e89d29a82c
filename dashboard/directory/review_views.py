"""Reviewing a sync held because it would remove many entries: look, then apply or discard.

Anyone who may read the organisation sees the page; admins and owners apply or discard.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.directory import services
from dashboard.directory.models import SyncRun
from dashboard.directory.reviews import sync_review_removals
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from dashboard.tenants.models import Role


@organization_view()
@require_GET
def sync_run_review(request: HttpRequest, access: OrganizationAccess, run_id) -> HttpResponse:
    run = _run(access, run_id)
    return render(
        request,
        "directory/sync_review.html",
        {
            "organization": access.organization,
            "connection": run.connection,
            "run": run,
            "kinds": sync_review_removals(run=run) if run.needs_review else [],
            "may_decide": access.can_manage,
        },
    )


@organization_view(Role.ADMIN)
@require_POST
def sync_run_review_apply(request: HttpRequest, access: OrganizationAccess, run_id) -> HttpResponse:
    run = _run(access, run_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm the removals, then apply them.")
        return redirect("sync_run_review", org_id=access.organization.pk, run_id=run.pk)
    if services.sync_review_apply(run=run, actor=request.user, request=request):
        messages.success(request, f"Applied: {run.removed:,} entries removed from the directory.")
    else:
        messages.info(request, _not_held(run))
    return _to_connection(access, run)


@organization_view(Role.ADMIN)
@require_POST
def sync_run_review_discard(
    request: HttpRequest, access: OrganizationAccess, run_id
) -> HttpResponse:
    run = _run(access, run_id)
    if services.sync_review_discard(run=run, actor=request.user, request=request):
        messages.success(request, "Discarded: the directory stays as it was.")
    else:
        messages.info(request, _not_held(run))
    return _to_connection(access, run)


def _run(access: OrganizationAccess, run_id) -> SyncRun:
    return tenant_object_get(
        SyncRun.objects.select_related("connection", "requested_by"), access, pk=run_id
    )


def _not_held(run: SyncRun) -> str:
    run.refresh_from_db()
    return f"This sync is not waiting for a review any more: it is {run.get_status_display()}."


def _to_connection(access: OrganizationAccess, run: SyncRun) -> HttpResponse:
    return redirect(
        "connection_detail", org_id=access.organization.pk, connection_id=run.connection_id
    )
