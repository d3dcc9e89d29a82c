"""Connection pages: list, add, edit, delete, test, sync and watch a sync."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from dashboard.connections import selectors, services
from dashboard.connections.forms import ConnectionForm
from dashboard.connections.models import ConnectionCheck
from dashboard.directory.models import EntryKind, SyncRun
from dashboard.directory.progress import sync_run_progress_rows
from dashboard.directory.services import sync_run_cancel, sync_run_request
from dashboard.htmx import fragment_or_redirect
from dashboard.jobs.htmx import job_poll_response
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from dashboard.tenants.models import Role
from integrations.threecx.errors import InvalidInput, UnsafeAddress
from integrations.threecx.models import ThreeCXConnection

RECENT_RUNS = 10


@organization_view()
@require_GET
def connection_list(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    cards = selectors.connection_cards(organization=access.organization)
    return render(
        request,
        "connections/connection_list.html",
        {"organization": access.organization, "cards": cards, "kinds": EntryKind.choices},
    )


@organization_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_create(request: HttpRequest, access: OrganizationAccess) -> HttpResponse:
    return _connection_form(request, access, ThreeCXConnection(organization=access.organization))


@organization_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_edit(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    return _connection_form(request, access, selectors.connection_get(access, connection_id))


def _connection_form(request, access, connection: ThreeCXConnection) -> HttpResponse:
    state = None if connection._state.adding else getattr(connection, "directory_state", None)
    form = ConnectionForm(
        request.POST or None,
        request.FILES or None,
        instance=connection,
        organization=access.organization,
        initial={
            "sync_interval": state.sync_interval,
            "removal_review_percent": state.removal_review_percent,
            "removal_review_count": state.removal_review_count,
        }
        if state
        else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.connection_store(
                connection=form.save(commit=False),
                client_secret=form.cleaned_data["client_secret"],
                sync_interval=form.cleaned_data["sync_interval"],
                removal_review=(
                    form.cleaned_data["removal_review_percent"],
                    form.cleaned_data["removal_review_count"],
                ),
                actor=request.user,
                request=request,
            )
        except (UnsafeAddress, InvalidInput) as exc:
            form.add_error(getattr(exc, "target", None) or "base_url", str(exc))
        else:
            messages.success(request, f"{saved.name} saved. Test it to check the credentials.")
            return redirect(
                "connection_detail", org_id=access.organization.pk, connection_id=saved.pk
            )
    return render(
        request,
        "connections/connection_form.html",
        {
            "organization": access.organization,
            "form": form,
            "connection": connection,
            # UUID keys exist before saving, so ask Django whether the row is new.
            "creating": connection._state.adding,
        },
    )


@organization_view()
@require_GET
def connection_detail(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    runs = SyncRun.objects.filter(connection=connection).select_related("requested_by")
    history = selectors.count_history(connection)
    return render(
        request,
        "connections/connection_detail.html",
        {
            "organization": access.organization,
            "connection": connection,
            "state": getattr(connection, "directory_state", None),
            "active_run": runs.filter(status__in=SyncRun.ACTIVE).first(),
            "runs": runs[:RECENT_RUNS],
            "last_check": connection.checks.first(),
            "chart": selectors.sparkline([total for _, total in history]),
            "history": history,
            "kinds": EntryKind.choices,
            "check_labels": services.STATUS_FIELDS,
        },
    )


@organization_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_delete(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    if request.method == "POST":
        services.connection_delete(connection=connection, actor=request.user, request=request)
        messages.success(request, f"{connection.name} and its synced directory were deleted.")
        return redirect("connection_list", org_id=access.organization.pk)
    counts = getattr(getattr(connection, "directory_state", None), "counts", {}) or {}
    return render(
        request,
        "connections/connection_delete.html",
        {
            "organization": access.organization,
            "connection": connection,
            "entries": sum(counts.values()),
        },
    )


@organization_view(Role.ADMIN)
@require_POST
def connection_test(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    check = services.connection_check_request(
        connection=connection, actor=request.user, request=request
    )
    return fragment_or_redirect(
        request,
        lambda: _check_fragment(request, access, check),
        redirect_to=_detail_url(connection),
        message="Testing the connection; the result appears below.",
    )


@organization_view()
@require_GET
def connection_check_status(
    request: HttpRequest, access: OrganizationAccess, connection_id, check_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    check = tenant_object_get(
        ConnectionCheck.objects.filter(connection=connection), access, pk=check_id
    )
    return _check_fragment(request, access, check)


def _check_fragment(request, access, check: ConnectionCheck) -> HttpResponse:
    return job_poll_response(
        request,
        check,
        template="connections/_check.html",
        context=lambda: {
            "organization": access.organization,
            "connection": check.connection,
            "check": check,
            "labels": services.STATUS_FIELDS,
            # A finished check changed the connection's "Last error": show it as it is now.
            "refresh_last_error": check.is_finished,
        },
    )


@organization_view(Role.ADMIN)
@require_POST
def connection_sync(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    run, created = sync_run_request(
        connection=connection,
        requested_by=request.user,
        # "Sync now, and apply removals": however many it removes, no review.
        confirm_removals=request.POST.get("confirm_removals") == "yes",
        request=request,
    )
    return fragment_or_redirect(
        request,
        lambda: _progress_fragment(request, access, run),
        redirect_to=_detail_url(connection),
        message="" if created else "A sync of this connection is already under way.",
    )


@vary_on_headers("HX-Request")
@organization_view()
@require_GET
def sync_run_progress(
    request: HttpRequest, access: OrganizationAccess, connection_id, run_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    run = tenant_object_get(SyncRun.objects.filter(connection=connection), access, pk=run_id)
    response = _progress_fragment(request, access, run)
    if not run.is_active and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code
        # The rest of the page (counts, recent syncs) reloads itself on this event.
        response["HX-Trigger"] = "syncFinished"
    return response


@organization_view(Role.ADMIN)
@require_POST
def sync_run_cancel_view(
    request: HttpRequest, access: OrganizationAccess, connection_id, run_id
) -> HttpResponse:
    connection = selectors.connection_get(access, connection_id)
    run = tenant_object_get(SyncRun.objects.filter(connection=connection), access, pk=run_id)
    run = sync_run_cancel(run=run, actor=request.user, request=request)
    return fragment_or_redirect(
        request,
        lambda: _progress_fragment(request, access, run),
        redirect_to=_detail_url(connection),
        message="The sync will stop at its next page.",
    )


def _detail_url(connection: ThreeCXConnection) -> str:
    return reverse("connection_detail", args=[connection.organization_id, connection.pk])


def _progress_fragment(request, access, run: SyncRun) -> HttpResponse:
    rows, overall = sync_run_progress_rows(run)
    return render(
        request,
        "connections/_sync_progress.html",
        {
            "organization": access.organization,
            "run": run,
            "rows": rows,
            "overall": overall,
            "connection": run.connection,
            "retries": len(settings.DIRECTORY_SYNC_RETRY_DELAYS),
        },
    )
