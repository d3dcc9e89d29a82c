"""The XAPI console's pages: the catalogue of a connection, an operation's page with its form,
the call being answered, the connection's history of calls and their downloads.

Only a POST (with its CSRF check) sends anything; a GET never records nor calls. Reads are
sent at once by any member and provider staff; a write is first shown as it will be sent
(and, for a change to an entity, with its current state read first), and sent only when an
admin presses Send on that confirmation.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.connections.selectors import connection_get
from dashboard.console import answers, docs, selectors, services
from dashboard.console.forms import OperationForm
from dashboard.console.models import XapiCall
from dashboard.exports.writers import csv_chunks
from dashboard.htmx import HtmxHttpRequest, fragment_or_page, fragment_wanted
from dashboard.jobs.htmx import job_poll_response
from dashboard.tenants.access import (
    OrganizationAccess,
    organization_access_require,
    organization_view,
    tenant_object_get,
)
from dashboard.tenants.models import Role
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.operations.catalogue import (
    Operation,
    UnknownOperation,
    operation_get,
    tags,
)
from integrations.threecx.operations.masking import secrets_mask
from integrations.threecx.operations.requests import InvalidRequest
from integrations.threecx.operations.versions import operation_availability, version_match

CATALOGUE_TARGET = "console-catalogue"
HISTORY_TARGET = "console-history"
HISTORY_PER_PAGE = 50
#: Longest search the catalogue takes (every word must match; more only slows it).
SEARCH_MAX_LENGTH = 200


@organization_view()
@require_GET
def console_catalogue(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """Every operation, by tag; the search (?q=&tag=) narrows it live and is bookmarkable."""
    connection = connection_get(access, connection_id)
    text = request.GET.get("q", "")[:SEARCH_MAX_LENGTH].strip()
    all_tags = tags()
    tag = request.GET.get("tag", "")
    if tag not in dict(all_tags):
        tag = ""
    groups = selectors.catalogue_groups(connection=connection, text=text, tag=tag)
    query = {name: value for name, value in (("q", text), ("tag", tag)) if value}
    return fragment_or_page(
        request,
        fragment="console/_catalogue_results.html",
        page="console/catalogue.html",
        context={
            "organization": access.organization,
            "connection": connection,
            "groups": groups,
            "found": sum(len(group.entries) for group in groups),
            "tags": all_tags,
            "q": text,
            "tag": tag,
            "results_target": CATALOGUE_TARGET,
            "version_match": version_match(connection.version),
            # Built once, not per row: the catalogue lists up to 601 operations.
            "operation_url_prefix": reverse(
                "console_operation", args=[access.organization.pk, connection.pk, "-"]
            )[: -len("-/")],
        },
        target=CATALOGUE_TARGET,
        fragment_headers={"HX-Push-Url": f"{request.path}?{urlencode(query)}".rstrip("?")},
    )


@organization_view()
@require_GET
def console_operation(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, operation_id: str
) -> HttpResponse:
    """The operation's documentation and form; ?again=<call> fills the form as that call
    was sent."""
    connection = connection_get(access, connection_id)
    operation = _operation(operation_id)
    initial, again, again_masked = {}, None, False
    if "again" in request.GET:
        again = tenant_object_get(
            XapiCall.objects.filter(connection=connection, operation_id=operation.id),
            access,
            pk=request.GET["again"],
        )
        params, body, again_masked = selectors.call_again_arguments(
            again, access=access, user=request.user
        )
        initial = {**params, "body": body or ""}
    form = OperationForm(initial=initial, operation=operation)
    context = _operation_context(access, connection, operation, form)
    context |= {
        "again": again,
        "again_masked": again_masked,
        "again_actor": selectors.call_actor_label(again) if again else "",
    }
    return render(request, "console/operation.html", context)


@organization_view(post_reads=True)
@require_POST
def console_run(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, operation_id: str
) -> HttpResponse:
    """Run: a read is queued at once; a write is answered with its confirmation (the exact
    request, and the entity's current state being read), nothing of it sent yet."""
    connection = connection_get(access, connection_id)
    operation = _operation(operation_id)
    _sending_require(access, operation)
    form = OperationForm(request.POST, operation=operation)
    if not form.is_valid():
        return _result_response(request, access, connection, operation, form)
    if operation.is_read:
        return _send(request, access, connection, operation, form)
    if not access.organization.xapi_writes_enabled:
        return _writes_disabled_response(request, access, connection, operation, form)
    return _result_response(
        request,
        access,
        connection,
        operation,
        form,
        confirmation=_confirmation(request, access, connection, operation, form),
    )


@organization_view(post_reads=True)
@require_POST
def console_confirm(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, operation_id: str
) -> HttpResponse:
    """Send, from the confirmation: the request as it was shown, checked again."""
    connection = connection_get(access, connection_id)
    operation = _operation(operation_id)
    _sending_require(access, operation)
    form = OperationForm(request.POST, operation=operation)
    if not form.is_valid():
        return _result_response(request, access, connection, operation, form)
    return _send(request, access, connection, operation, form)


@organization_view()
@require_GET
def console_call(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, call_id
) -> HttpResponse:
    """A call: its fragment (HTTP 286 ends the page's polling once answered), or its page."""
    connection = connection_get(access, connection_id)
    call = _call(access, connection, call_id)
    wanted = fragment_wanted(request)
    return job_poll_response(
        request,
        call,
        template="console/_call.html" if wanted else "console/call_detail.html",
        context=lambda: _call_context(access, connection, call),
    )


@organization_view()
@require_GET
def console_call_download(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, call_id
) -> HttpResponse:
    """The answer as JSON (?format=json, the default) or, for a collection, CSV."""
    connection = connection_get(access, connection_id)
    call = _call(access, connection, call_id)
    if call.answer is None:
        raise Http404("No answer was kept for this call.")
    name = answers.call_filename(call)
    if request.GET.get("format") == "csv":
        table = answers.answer_table(call)
        if table is None:
            raise Http404("Only a collection answer downloads as CSV.")
        response = StreamingHttpResponse(csv_chunks(table), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    response = HttpResponse(
        json.dumps(call.answer, indent=2, ensure_ascii=False).encode(),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@organization_view()
@require_GET
def console_history(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """The connection's calls, newest first: who, when, what, how it went."""
    connection = connection_get(access, connection_id)
    page = Paginator(selectors.call_history(connection=connection), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return fragment_or_page(
        request,
        fragment="console/_history_results.html",
        page="console/history.html",
        context={
            "organization": access.organization,
            "connection": connection,
            "page": page,
            "rows": [(call, selectors.call_actor_label(call)) for call in page.object_list],
            "may_write": not selectors.writes_refusal(access=access),
            "retention_days": settings.JOB_RETENTION_DAYS,
            "query": QueryDict(),
            "list_url": request.path,
            "results_target": HISTORY_TARGET,
        },
        target=HISTORY_TARGET,
    )


# --- helpers ---------------------------------------------------------------------------------


def _operation(operation_id: str) -> Operation:
    try:
        return operation_get(operation_id)
    except UnknownOperation as exc:
        raise Http404(exc.message) from None


def _call(access: OrganizationAccess, connection: ThreeCXConnection, call_id) -> XapiCall:
    return tenant_object_get(
        XapiCall.objects.filter(connection=connection).select_related("requested_by"),
        access,
        pk=call_id,
    )


def _sending_require(access: OrganizationAccess, operation: Operation) -> None:
    """Reads: whoever may see the connection (the decorator let them POST). Writes: its
    admins and owners, never provider staff (their access is read-only)."""
    if operation.is_read:
        return
    organization_access_require(access, Role.ADMIN)
    if access.via_provider:
        raise PermissionDenied("Provider access is read-only.")


def _send(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
) -> HttpResponse:
    """Record and queue the call; the result area then polls it. Refusals (writes turned off,
    the per-minute limits) are shown there, nothing recorded."""
    try:
        call = services.xapi_call_request(
            connection=connection,
            actor=request.user,
            operation=operation,
            params=form.params(),
            body=form.body(),
            request=request,
            rate_limited=True,
        )
    except InvalidRequest as exc:  # the form checked the same; only a race gets here
        for error in exc.errors:
            form.add_error(None, f"{error.field}: {error.message}")
        return _result_response(request, access, connection, operation, form)
    except services.WritesDisabled:
        return _writes_disabled_response(request, access, connection, operation, form)
    except services.CallLimitReached as exc:
        return _result_response(
            request, access, connection, operation, form, limited=exc.message, status=429
        )
    return _result_response(request, access, connection, operation, form, call=call)


def _confirmation(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
) -> dict:
    """What the confirmation shows: the request as it will be sent (secrets masked: they go
    as typed) and, for a change to an entity, a read of its current state, queued now."""
    prepared = form.prepared
    body = (
        json.dumps(secrets_mask(prepared.body), indent=2, ensure_ascii=False)
        if prepared.body is not None
        else None
    )
    state_call, state_note = None, ""
    if operation.entity_read_id:
        state_call, state_note = _state_read(request, connection, operation, form)
    return {
        "method": prepared.method,
        "url": prepared.url(connection.base_url),
        "body": body,
        "params": form.params(),
        "body_typed": form.body() or "",
        "state_call": state_call,
        "state_note": state_note,
    }


def _state_read(
    request: HtmxHttpRequest,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
) -> tuple[XapiCall | None, str]:
    """Queue the read of the entity `operation` changes, with the same key."""
    reader = operation_get(operation.entity_read_id)
    typed = form.params()
    params = {p.name: typed.get(p.name, "") for p in reader.path_parameters}
    try:
        call = services.xapi_call_request(
            connection=connection,
            actor=request.user,
            operation=reader,
            params=params,
            body=None,
            request=request,
            rate_limited=True,
        )
    except InvalidRequest as exc:
        return None, f"Its current state could not be read: {exc}"
    except services.CallLimitReached as exc:
        return None, f"Its current state was not read: {exc.message}"
    return call, ""


def _result_response(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
    *,
    call: XapiCall | None = None,
    confirmation: dict | None = None,
    limited: str = "",
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    """HTMX gets the form and the result area, swapped in by id; a browser without
    JavaScript gets the whole operation page with both."""
    context = _operation_context(access, connection, operation, form)
    context |= {
        "call": call,
        "confirmation": confirmation,
        "limited": limited,
        "refused": refused,
    }
    return fragment_or_page(
        request,
        fragment="console/_run_response.html",
        page="console/operation.html",
        context=context,
        status=status,
    )


def _writes_disabled_response(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
) -> HttpResponse:
    """Writes were turned off while the page was open: say so where the answer would be.
    HTMX swaps only a 2xx (or 429) answer in, so it gets a 200; a plain POST gets 403."""
    message = services.WritesDisabled(access.organization).message
    return _result_response(
        request,
        access,
        connection,
        operation,
        form,
        refused=message,
        status=200 if fragment_wanted(request) else 403,
    )


def _operation_context(
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    operation: Operation,
    form: OperationForm,
) -> dict:
    refusal = selectors.operation_refusal(access=access, operation=operation)
    return {
        "organization": access.organization,
        "connection": connection,
        "operation": operation,
        "kind_label": docs.KIND_LABELS.get(operation.kind, operation.kind),
        "availability": operation_availability(operation, connection.version),
        "parameters": form.docs,
        "body_outline": docs.body_outline(operation),
        "responses": docs.response_docs(operation),
        "form": form,
        "refusal": refusal,
        "writes_off": operation.is_write and not access.organization.xapi_writes_enabled,
        "catalogue_url": reverse("console_catalogue", args=[access.organization.pk, connection.pk]),
    }


def _call_context(
    access: OrganizationAccess, connection: ThreeCXConnection, call: XapiCall
) -> dict:
    return {
        "organization": access.organization,
        "connection": connection,
        "call": call,
        "operation": _operation_or_none(call.operation_id),
        "answer": answers.answer_view(call) if call.is_finished else None,
        "actor_label": selectors.call_actor_label(call),
        "may_write": not selectors.writes_refusal(access=access),
        "request_url": answers.call_request_url(call),
        "body_pretty": json.dumps(call.body_masked, indent=2, ensure_ascii=False),
    }


def _operation_or_none(operation_id: str) -> Operation | None:
    try:
        return operation_get(operation_id)
    except UnknownOperation:
        return None
