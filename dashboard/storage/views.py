"""The storage browser: the folders of a connection's storage locations (Get Directory Info).

The PBX is asked on the worker; the page polls the question's row until it is answered.
"""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from dashboard.storage import selectors, services
from dashboard.storage.forms import BrowseForm, ParametersForm
from dashboard.storage.models import StorageBrowse
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from integrations.threecx.models import ThreeCXConnection


@organization_view()
@require_GET
def storage_browser(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = _connection(access, connection_id)
    context = _browser_context(access, connection, BrowseForm(), ParametersForm())
    return render(request, "storage/storage_browser.html", context)


@organization_view()
@require_http_methods(["GET", "POST"])
def storage_browse(request: HttpRequest, access: OrganizationAccess, connection_id) -> HttpResponse:
    """Queue a question and show it being asked; bad input is refused here, nothing queued.

    A file system and a path come as a GET, which every member may make: browsing only reads.
    The Advanced JSON comes as a POST, which needs an admin: its "Json" may hold a storage
    location's credentials, which belong neither in URLs nor in viewers' hands.
    """
    connection = _connection(access, connection_id)
    advanced = request.method == "POST"
    form = ParametersForm(request.POST) if advanced else BrowseForm(request.GET)
    browse = None
    if form.is_valid():
        browse = services.storage_browse_request(
            connection=connection, actor=request.user, **form.browse_arguments()
        )
    if advanced:
        browse_form = BrowseForm(initial=_browse_form_initial(browse))
        parameters_form = form
    else:
        browse_form = form
        parameters_form = ParametersForm(initial=_parameters_form_initial(browse))
    context = _browser_context(
        access, connection, browse_form, parameters_form, browse=browse, advanced=advanced
    )
    template = "storage/_browse_response.html" if request.htmx else "storage/storage_browser.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@organization_view()
@require_GET
def storage_browse_status(
    request: HttpRequest, access: OrganizationAccess, connection_id, browse_id
) -> HttpResponse:
    """The question's fragment; HTTP 286 ends the page's polling once it is answered."""
    connection = _connection(access, connection_id)
    browse = tenant_object_get(
        StorageBrowse.objects.filter(connection=connection), access, pk=browse_id
    )
    finished = browse.is_finished and bool(request.htmx)
    response = render(
        request,
        "storage/_browse.html",
        {"organization": access.organization, "connection": connection}
        | _browse_context(browse)
        | {"oob": finished},
    )
    if finished:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def _connection(access: OrganizationAccess, connection_id) -> ThreeCXConnection:
    return tenant_object_get(ThreeCXConnection.objects.all(), access, pk=connection_id)


def _browser_context(
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    browse_form: BrowseForm,
    parameters_form: ParametersForm,
    *,
    browse: StorageBrowse | None = None,
    advanced: bool = False,
) -> dict:
    return {
        "organization": access.organization,
        "connection": connection,
        "browse_form": browse_form,
        "parameters_form": parameters_form,
        "advanced": advanced,
    } | _browse_context(browse)


def _browse_context(browse: StorageBrowse | None) -> dict:
    if browse is None:
        return {"browse": None}
    return {
        "browse": browse,
        "folders": selectors.browse_folders(browse),
        "crumbs": selectors.browse_breadcrumb(browse),
        "answer_json": selectors.browse_answer_json(browse),
        "advice": selectors.browse_advice(browse),
        "blames_connection": selectors.browse_blames_connection(browse),
    }


def _browse_form_initial(browse: StorageBrowse | None) -> dict:
    return {"filesystem": browse.filesystem, "path": browse.path} if browse else {}


def _parameters_form_initial(browse: StorageBrowse | None) -> dict:
    """A plain browse, spelt as Advanced JSON: what was sent, ready to be changed."""
    if browse is None:
        return {}
    body = {"parameters": services.storage_browse_body(browse)}
    return {"parameters": json.dumps(body, ensure_ascii=False)}
