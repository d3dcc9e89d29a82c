"""Directory pages: listings per kind, one entry, and the change history of syncs.

Nothing here writes but the activity log entry of an export. A listing is one view with
three outputs from the same filtered queryset (`dashboard.directory.exports`): the full page,
the HTMX fragment that live search, sorting and paging swap in, and its export (the
`?format=csv` link streams a small one; `dashboard.exports` makes the others).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard.connections.selectors import connection_get, connection_list
from dashboard.directory import selectors
from dashboard.directory.exports import (
    ENTRIES,
    change_filterset,
    entry_filterset,
    listing_get,
)
from dashboard.directory.listings import LISTING_FOR_KIND, LISTINGS, Listing, PageSizeForm
from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryState,
    SyncChange,
    SyncRun,
)
from dashboard.exports.views import export_from_listing
from dashboard.htmx import HtmxHttpRequest, fragment_or_page
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from integrations.threecx.models import ThreeCXConnection

RESULTS_TARGET = "directory-results"
CHANGES_TARGET = "change-results"
CHANGES_PER_PAGE = 50


@organization_view()
@require_GET
def directory_list(request: HtmxHttpRequest, access: OrganizationAccess, kind: str) -> HttpResponse:
    """One kind of entry across every connection of the organisation."""
    listing = listing_get(kind)
    connections = list(connection_list(organization=access.organization))
    return _entry_listing(request, access, listing, connections, connection=None)


@organization_view()
@require_GET
def connection_directory_list(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, kind: str
) -> HttpResponse:
    """One kind of entry of one connection."""
    listing = listing_get(kind)
    connection = connection_get(access, connection_id)
    return _entry_listing(request, access, listing, [connection], connection=connection)


@organization_view()
@require_GET
def directory_entry_detail(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, kind: str, external_id: int
) -> HttpResponse:
    listing = listing_get(kind)
    connection = connection_get(access, connection_id)
    context: dict[str, Any] = {
        "organization": access.organization,
        "connection": connection,
        "listing": listing,
        "external_id": external_id,
    }
    try:
        entry = selectors.entry_get(
            connection=connection, kind=listing.kind, external_id=external_id
        )
    except DirectoryEntry.DoesNotExist:
        # Removed by a sync (or never there): say so, with whatever history is known.
        changes = selectors.change_list(connection=connection).filter(
            kind=listing.kind, external_id=external_id
        )[:50]
        context["changes"] = _change_rows(changes)
        # An entry that syncs once saw is a page of its own (links from the change history
        # lead here): what was last known of it. Only an id never seen is "not found".
        status = 200 if changes else 404
        return render(request, "directory/entry_missing.html", context, status=status)
    fields = selectors.entry_fields(entry)
    context.update(
        entry=entry,
        fields=[_field_row(name, value) for name, value in sorted(fields.items())],
        links=_with_urls(selectors.entry_links(entry), access),
        changes=_change_rows(selectors.entry_changes(entry=entry)),
        raw_json=selectors.entry_json(entry),
    )
    return render(request, "directory/entry_detail.html", context)


@organization_view()
@require_GET
def connection_changes(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    connection = connection_get(access, connection_id)
    runs = selectors.run_list(connection=connection)
    return _change_listing(
        request,
        access,
        selectors.change_list(connection=connection),
        connection=connection,
        run=None,
        has_runs=runs.exists(),
        first_run=None,
    )


@organization_view()
@require_GET
def sync_run_changes(request: HtmxHttpRequest, access: OrganizationAccess, run_id) -> HttpResponse:
    run = tenant_object_get(SyncRun.objects.select_related("connection"), access, pk=run_id)
    return _change_listing(
        request,
        access,
        selectors.change_list(run=run),
        connection=run.connection,
        run=run,
        has_runs=True,
        first_run=not selectors.run_list(connection=run.connection)
        .filter(created_at__lt=run.created_at, status=SyncRun.Status.SUCCEEDED)
        .exists(),
    )


# --- listings ------------------------------------------------------------------------------


def _entry_listing(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    listing: Listing,
    connections: list[ThreeCXConnection],
    *,
    connection: ThreeCXConnection | None,
) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return export_from_listing(
            request,
            source=ENTRIES,
            organization=access.organization,
            kwargs={"kind": listing.slug, "connection_id": connection.pk if connection else None},
        )
    filterset = entry_filterset(
        organization=access.organization,
        listing=listing,
        params=request.GET,
        connections=connections,
        connection=connection,
    )
    entries = filterset.queryset
    page_form = PageSizeForm(request.GET)
    paginator = selectors.EntryPaginator(
        filterset.qs,
        page_form.page_size,
        known_total=None
        if filterset.is_filtered
        else selectors.entry_count(kind=listing.kind, connections=connections),
        search_first=filterset.searches_text,
        unfiltered=entries,
    )
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(selectors.entries_attach_connections(page.object_list, connections))
    _attach_urls(page.object_list, access, listing, connections)
    query = _query_state(request.GET)
    context = {
        "organization": access.organization,
        "listing": listing,
        "tabs": _tabs(connections),
        "connection": connection,
        "connections": connections,
        "filter": filterset,
        "page_form": page_form,
        "page": page,
        "page_sizes": page_form.fields["per_page"].choices,
        "query": query,
        "columns": _columns(listing, filterset.sort_key),
        "show_connection": connection is None and len(connections) > 1,
        "situation": _situation(connections, page, filterset.is_filtered),
        "page_depth": selectors.PAGE_DEPTH,
        "sync_problems": _sync_problems(connections),
        "list_url": request.path,
        "results_target": RESULTS_TARGET,
    }
    return fragment_or_page(
        request,
        fragment="directory/_list_fragment.html",
        page="directory/entry_list.html",
        context=context,
        target=RESULTS_TARGET,
        fragment_headers={"HX-Push-Url": _url(request.path, query, page=page)},
    )


def _attach_urls(
    entries: list[DirectoryEntry],
    access: OrganizationAccess,
    listing: Listing,
    connections: list[ThreeCXConnection],
) -> None:
    """Set `entry.url`: an entry's page is its connection's list URL plus its 3CX id.

    One reverse() per connection instead of one per row (urls.py keeps the two nested).
    """
    lists = {
        c.pk: reverse(
            "connection_directory_list",
            kwargs={"org_id": access.organization.pk, "connection_id": c.pk, "kind": listing.slug},
        )
        for c in connections
    }
    for entry in entries:
        entry.url = f"{lists[entry.connection_id]}{entry.external_id}/"


@dataclass(frozen=True)
class Tab:
    listing: Listing
    count: int | None


def _tabs(connections: list[ThreeCXConnection]) -> list[Tab]:
    """Every kind with its count from the last syncs (kept by the sync, so no query)."""
    states = [_state(c) for c in connections if _synced(c)]
    return [
        Tab(listing, sum(s.counts.get(listing.kind, 0) for s in states) if states else None)
        for listing in LISTINGS.values()
    ]


@dataclass(frozen=True)
class HeaderCell:
    label: str
    sort: str
    #: "ascending", "descending" or "" (the aria-sort of the header).
    direction: str
    #: The sort value a click on this header asks for.
    next_sort: str


def _columns(listing: Listing, sort_key: str) -> list[HeaderCell]:
    cells = []
    for column in listing.columns:
        direction = ""
        next_sort = column.sort
        if column.sort and sort_key.removeprefix("-") == column.sort:
            direction = "descending" if sort_key.startswith("-") else "ascending"
            next_sort = column.sort if sort_key.startswith("-") else f"-{column.sort}"
        cells.append(HeaderCell(column.label, column.sort, direction, next_sort))
    return cells


@dataclass(frozen=True)
class SyncProblem:
    """Why a connection's entries are missing from a listing, or may be out of date."""

    connection: ThreeCXConnection
    #: Its latest sync failed.
    failed: bool
    #: It has a directory from an earlier sync.
    synced: bool


def _sync_problems(connections: list[ThreeCXConnection]) -> list[SyncProblem]:
    """One problem per connection, and none while no connection has synced at all: the
    listing's empty state then says so."""
    problems = [
        SyncProblem(c, c.latest_run_status == SyncRun.Status.FAILED, _synced(c))
        for c in connections
    ]
    if not any(p.synced for p in problems):
        problems = [p for p in problems if p.failed]
    return [p for p in problems if p.failed or not p.synced]


def _situation(connections: list[ThreeCXConnection], page: Page, filtered: bool) -> str:
    """Which empty state, if any, the listing shows."""
    if not connections:
        return "no_connection"
    if not any(_synced(c) for c in connections):
        return "not_synced"
    if page.paginator.count:
        return ""
    return "no_matches" if filtered else "empty"


def _state(connection: ThreeCXConnection) -> DirectoryState | None:
    return getattr(connection, "directory_state", None)


def _synced(connection: ThreeCXConnection) -> bool:
    state = _state(connection)
    return state is not None and state.generation > 0


def _query_state(params: QueryDict) -> QueryDict:
    """The listing's state without empty values, the page number or the export format."""
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        if key in ("page", "format"):
            continue
        kept = [v for v in values if v]
        if kept:
            query.setlist(key, kept)
    return query


def _url(path: str, query: QueryDict, *, page: Page | None = None) -> str:
    query = query.copy()
    if page is not None and page.number > 1:
        query["page"] = str(page.number)
    return f"{path}?{query.urlencode()}" if query else path


# --- entries and changes -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    name: str
    value: str
    #: For lists and objects, shown folded: "3 items", "5 fields".
    summary: str = ""


def _field_row(name: str, value: Any) -> FieldRow:
    if isinstance(value, list):
        summary = f"{len(value)} item{'s' if len(value) != 1 else ''}"
    elif isinstance(value, dict):
        summary = f"{len(value)} field{'s' if len(value) != 1 else ''}"
    else:
        return FieldRow(name, selectors.json_text(value))
    return FieldRow(name, selectors.json_text(value, indent=2), summary)


def _with_urls(links: selectors.EntryLinks, access: OrganizationAccess) -> selectors.EntryLinks:
    for link in (*links.outgoing, *links.incoming):
        if link.entry is not None and link.entry.kind in LISTING_FOR_KIND:
            link.url = reverse(
                "directory_entry_detail",
                kwargs={
                    "org_id": access.organization.pk,
                    "connection_id": link.entry.connection_id,
                    "kind": LISTING_FOR_KIND[link.entry.kind].slug,
                    "external_id": link.entry.external_id,
                },
            )
    return links


@dataclass(frozen=True)
class ChangeRow:
    change: SyncChange
    listing: Listing | None
    fields: list[selectors.FieldChange]


def _change_rows(changes: Iterable[SyncChange]) -> list[ChangeRow]:
    return [
        ChangeRow(change, LISTING_FOR_KIND.get(change.kind), selectors.change_fields(change))
        for change in changes
    ]


def _change_listing(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    changes: QuerySet[SyncChange],
    *,
    connection: ThreeCXConnection,
    run: SyncRun | None,
    has_runs: bool,
    first_run: bool | None,
) -> HttpResponse:
    change_filter = change_filterset(request.GET, changes)
    page = Paginator(change_filter.qs, CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    query = _query_state(request.GET)
    context = {
        "organization": access.organization,
        "connection": connection,
        "run": run,
        "show_run": run is None,
        "filter": change_filter,
        "page": page,
        "rows": _change_rows(page.object_list),
        "query": query,
        "has_runs": has_runs,
        "first_run": first_run,
        "list_url": request.path,
        "results_target": CHANGES_TARGET,
    }
    return fragment_or_page(
        request,
        fragment="directory/_changes_fragment.html",
        page="directory/change_list.html",
        context=context,
        target=CHANGES_TARGET,
        fragment_headers={"HX-Push-Url": _url(request.path, query, page=page)},
    )
