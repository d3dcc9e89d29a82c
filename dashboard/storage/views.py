"""The storage browser: the folders of a connection's storage locations (Get Directory Info).

The PBX is asked on the worker; the page polls the question's row until it is answered. Only
a POST (with its CSRF check) asks: a GET of the page, a link followed or prefetched, records
nothing and calls nothing. The folder shown is kept in the page's URL for Back and bookmarks;
a page opened at such a URL asks for its folder with a POST once loaded.
"""

import json

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.connections.selectors import connection_get
from dashboard.htmx import HtmxHttpRequest, fragment_or_page
from dashboard.jobs.htmx import job_poll_response
from dashboard.storage import selectors, services
from dashboard.storage.forms import BrowseForm, ParametersForm
from dashboard.storage.models import StorageBrowse
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from integrations.threecx.models import ThreeCXConnection

#: The element of a page opened at a folder's URL that asks for the folder once loaded.
OPEN_ON_LOAD = "storage-result"


@organization_view()
@require_GET
def storage_browser(
    request: HttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """The page; at a folder's URL (?filesystem=&path=&root=) it also asks for that folder,
    from the browser, once loaded. Bad values are shown on the form, never asked for."""
    connection = connection_get(access, connection_id)
    asked = _asks_for_folder(request.GET)
    browse_form = BrowseForm(request.GET) if asked else BrowseForm()
    context = _browser_context(access, connection, browse_form, ParametersForm())
    if asked and browse_form.is_valid():
        context["open_on_load"] = json.dumps(browse_form.browse_arguments(), ensure_ascii=False)
    return render(request, "storage/storage_browser.html", context)


@organization_view(post_reads=True)
@require_POST
def storage_browse(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """Queue a question for a file system and a path, and show it being asked.

    Browsing only reads, so every member and provider staff may; a POST all the same, as it
    records the question and makes the PBX work, within per-minute limits.
    """
    connection = connection_get(access, connection_id)
    return _browse_response(request, access, connection, BrowseForm(request.POST))


@organization_view()
@require_POST
def storage_browse_advanced(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """Queue a question typed as raw Parameters JSON. It needs an admin: its "Json" may hold a
    storage location's credentials, which belong neither in URLs nor in viewers' hands."""
    connection = connection_get(access, connection_id)
    return _browse_response(request, access, connection, ParametersForm(request.POST))


@organization_view()
@require_GET
def storage_browse_status(
    request: HttpRequest, access: OrganizationAccess, connection_id, browse_id
) -> HttpResponse:
    """The question's fragment; HTTP 286 ends the page's polling once it is answered."""
    connection = connection_get(access, connection_id)
    browse = tenant_object_get(
        StorageBrowse.objects.filter(connection=connection), access, pk=browse_id
    )
    return job_poll_response(
        request,
        browse,
        template="storage/_browse.html",
        context=lambda: (
            {"organization": access.organization, "connection": connection}
            | _browse_context(browse)
            | {"oob": browse.is_finished and bool(request.htmx)}
        ),
    )


def _browse_response(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    form: BrowseForm | ParametersForm,
) -> HttpResponse:
    """Bad input is refused with its message and nothing queued; so is a question over the
    limits, with HTTP 429 and a message saying how long to wait."""
    advanced = isinstance(form, ParametersForm)
    browse, limited = None, ""
    if form.is_valid():
        try:
            browse = services.storage_browse_request(
                connection=connection,
                actor=request.user,
                request=request,
                **form.browse_arguments(),
            )
        except services.BrowseLimitReached as exc:
            limited = exc.message
    if advanced:
        browse_form = BrowseForm(initial=_browse_form_initial(browse))
        parameters_form = form
    else:
        browse_form = form
        parameters_form = ParametersForm(initial=_parameters_form_initial(browse))
    context = _browser_context(
        access, connection, browse_form, parameters_form, browse=browse, advanced=advanced
    )
    context["limited"] = limited
    return fragment_or_page(
        request,
        fragment="storage/_browse_response.html",
        page="storage/storage_browser.html",
        context=context,
        fragment_headers=(
            _history_headers(request, access, connection, browse)
            if browse is not None and not advanced
            else None
        ),
        status=429 if limited else 200,
    )


def _history_headers(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    connection: ThreeCXConnection,
    browse: StorageBrowse,
) -> dict[str, str]:
    """Put the folder's page URL in the address bar: a new history entry for a folder opened
    from the page, the same entry for the folder a page asks for on load (it is there)."""
    query = selectors.browse_query(filesystem=browse.filesystem, path=browse.path, root=browse.root)
    url = f"{reverse('storage_browser', args=[access.organization.pk, connection.pk])}?{query}"
    header = "HX-Replace-Url" if request.htmx.trigger == OPEN_ON_LOAD else "HX-Push-Url"
    return {header: url}


def _asks_for_folder(params: QueryDict) -> bool:
    return any(name in params for name in ("filesystem", "path", "root"))


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
