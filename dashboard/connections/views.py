"""Connection pages: list, add, edit, delete, test, sync and watch a sync."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from dashboard.connections import selectors, services
from dashboard.connections.forms import ConnectionForm
from dashboard.connections.models import ConnectionCheck
from dashboard.connections.templatetags.connections_extras import kind_label
from dashboard.directory.models import EntryKind, SyncRun
from dashboard.directory.services import sync_run_cancel, sync_run_request
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from dashboard.tenants.models import Role
from integrations.threecx.errors import InvalidInput, UnsafeAddress
from integrations.threecx.models import ThreeCXConnection

RECENT_RUNS = 10


def _connection(access: OrganizationAccess, connection_id) -> ThreeCXConnection:
    return tenant_object_get(
        ThreeCXConnection.objects.select_related("directory_state"), access, pk=connection_id
    )


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
    return _connection_form(request, access, _connection(access, connection_id))


def _connection_form(request, access, connection: ThreeCXConnection) -> HttpResponse:
    state = None if connection._state.adding else getattr(connection, "directory_state", None)
    form = ConnectionForm(
        request.POST or None,
        request.FILES or None,
        instance=connection,
        organization=access.organization,
        initial={"sync_interval": state.sync_interval} if state else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.connection_store(
                connection=form.save(commit=False),
                client_secret=form.cleaned_data["client_secret"],
                sync_interval=form.cleaned_data["sync_interval"],
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
    connection = _connection(access, connection_id)
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
    connection = _connection(access, connection_id)
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


@vary_on_headers("HX-Request")
@organization_view(Role.ADMIN)
@require_POST
def connection_test(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    check = services.connection_check_request(connection=connection, actor=request.user)
    if not request.htmx:
        messages.info(request, "Testing the connection; the result appears below.")
        return redirect(
            "connection_detail", org_id=access.organization.pk, connection_id=connection.pk
        )
    return _check_fragment(request, access, check)


@vary_on_headers("HX-Request")
@organization_view()
@require_GET
def connection_check_status(
    request: HttpRequest, access: OrganizationAccess, connection_id, check_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    check = tenant_object_get(
        ConnectionCheck.objects.filter(connection=connection), access, pk=check_id
    )
    return _check_fragment(request, access, check)


def _check_fragment(request, access, check: ConnectionCheck) -> HttpResponse:
    response = render(
        request,
        "connections/_check.html",
        {"organization": access.organization, "check": check, "labels": services.STATUS_FIELDS},
    )
    if check.is_finished and request.htmx and request.method == "GET":
        response.status_code = HttpResponseStopPolling.status_code
    return response


@vary_on_headers("HX-Request")
@organization_view(Role.ADMIN)
@require_POST
def connection_sync(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    run, created = sync_run_request(
        connection=connection, requested_by=request.user, request=request
    )
    if not request.htmx:
        if not created:
            messages.info(request, "A sync of this connection is already under way.")
        return redirect(
            "connection_detail", org_id=access.organization.pk, connection_id=connection.pk
        )
    return _progress_fragment(request, access, run)


@vary_on_headers("HX-Request")
@organization_view()
@require_GET
def sync_run_progress(
    request: HttpRequest, access: OrganizationAccess, connection_id, run_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    run = tenant_object_get(SyncRun.objects.filter(connection=connection), access, pk=run_id)
    response = _progress_fragment(request, access, run)
    if not run.is_active and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code
        # The rest of the page (counts, recent syncs) reloads itself on this event.
        response["HX-Trigger"] = "syncFinished"
    return response


@vary_on_headers("HX-Request")
@organization_view(Role.ADMIN)
@require_POST
def sync_run_cancel_view(
    request: HttpRequest, access: OrganizationAccess, connection_id, run_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    run = tenant_object_get(SyncRun.objects.filter(connection=connection), access, pk=run_id)
    run = sync_run_cancel(run=run, actor=request.user, request=request)
    if not request.htmx:
        messages.info(request, "The sync will stop at its next page.")
        return redirect(
            "connection_detail", org_id=access.organization.pk, connection_id=connection.pk
        )
    return _progress_fragment(request, access, run)


def _progress_fragment(request, access, run: SyncRun) -> HttpResponse:
    rows = []
    for kind, progress in (run.progress or {}).items():
        total = progress.get("total")
        fetched = progress.get("fetched", 0)
        percent = 100 if progress.get("done") else (min(99, fetched * 100 // total) if total else 0)
        rows.append(
            {
                "label": kind_label(kind),
                "fetched": fetched,
                "total": total,
                "percent": percent,
                "done": progress.get("done"),
            }
        )
    done = sum(r["percent"] for r in rows)
    overall = done // len(rows) if rows else 0
    return render(
        request,
        "connections/_sync_progress.html",
        {
            "organization": access.organization,
            "run": run,
            "rows": rows,
            "overall": overall,
            "connection": run.connection,
        },
    )
