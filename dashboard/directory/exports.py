"""What the directory's listings select, and how they export.

The listing views and the export sources call the same functions for the filtered, sorted
rows (`entry_filterset`, `change_filterset`), so an export holds exactly what the screen
selects, on every page, in the screen's order.

- "directory.entries": one tab (users, contacts...) of one connection (kwargs kind,
  connection_id) or across the organisation (kwargs kind). "All fields" adds every key of
  the synced items (secrets are never stored, and are left out again here).
- "directory.changes": the change history of one connection (kwargs connection_id) or of one
  sync run (kwargs run_id).
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django import forms
from django.db import connection as db_connection
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils import formats
from django.utils.text import slugify

from dashboard.connections.selectors import connection_get, connection_list
from dashboard.directory import selectors
from dashboard.directory.filters import ChangeFilter, EntryFilter
from dashboard.directory.listings import LISTINGS, Listing
from dashboard.directory.models import DirectoryEntry, SyncChange, SyncRun
from dashboard.directory.sources import SOURCES
from dashboard.exports.querysets import QueryColumn, queryset_table
from dashboard.exports.sources import ExportScope, ExportSource, export_source_register
from dashboard.exports.tables import CellType, ExportColumn, ExportTable
from dashboard.tenants.access import (
    OrganizationAccess,
    organization_access_get,
    tenant_object_get,
)
from dashboard.tenants.models import Organization
from integrations.threecx import spec
from integrations.threecx.models import ThreeCXConnection

ENTRIES = "directory.entries"
CHANGES = "directory.changes"

#: Rows read from the database at a time while exporting.
CHUNK_SIZE = 2000


def export_sources_register() -> None:
    """Called from DirectoryConfig.ready()."""
    export_source_register(
        ExportSource(
            key=ENTRIES, build=entries_table, background=entries_background, has_all_fields=True
        )
    )
    export_source_register(ExportSource(key=CHANGES, build=changes_table))


# --- the listings' rows ------------------------------------------------------------------------


def entry_filterset(
    *,
    organization: Organization,
    listing: Listing,
    params: QueryDict,
    connections: list[ThreeCXConnection],
    connection: ThreeCXConnection | None,
) -> EntryFilter:
    """A directory tab's search, filters and sort over its visible entries: `.qs` is what the
    tab lists (and exports), `.queryset` the tab before any filter."""
    entries = selectors.entry_list(
        organization=organization, kind=listing.kind, connection=connection
    )
    return listing.filterset(
        params,
        queryset=entries,
        organization=organization,
        connections=connections,
        connection=connection,
    )


def change_filterset(params: QueryDict, changes: QuerySet[SyncChange]) -> ChangeFilter:
    """A change history's search and filters: `.qs` is what it lists, newest run first."""
    return ChangeFilter(params, queryset=changes)


def listing_get(kind: str) -> Listing:
    try:
        return LISTINGS[kind]
    except KeyError:
        raise Http404(f"There is no “{kind}” list in the directory.") from None


# --- directory.entries ---------------------------------------------------------------------------

#: Columns written as text whatever they hold: numbers people dial keep their "+" and zeros.
_PHONE_ATTRIBUTES = frozenset({"number", "phone", "mobile"})
_NUMBER_ATTRIBUTES = frozenset({"member_count", "missing_count"})
_BOOLEAN_ATTRIBUTES = frozenset(
    {"enabled", "require_2fa", "is_admin", "is_registered", "is_online"}
)


def entries_table(scope: ExportScope) -> ExportTable:
    access = _access(scope)
    listing = listing_get(scope.kwargs.get("kind", ""))
    connection_id = _uuid(scope.kwargs.get("connection_id"))
    if connection_id:
        connection = connection_get(access, connection_id)
        connections = [connection]
    else:
        connection = None
        connections = list(connection_list(organization=access.organization))
    filterset = entry_filterset(
        organization=access.organization,
        listing=listing,
        params=scope.params,
        connections=connections,
        connection=connection,
    )
    entries = filterset.qs
    where = connection.name if connection else access.organization.name
    title = f"{listing.label} of {where}"
    slug = f"{slugify(where) or 'directory'}-{listing.slug}"
    filters = filters_in_words(filterset.form, sort=_sort_words(listing, filterset.sort_param))
    if not scope.all_fields:
        # The tab's own columns, read as the database's tuples: a model instance per row
        # was most of the time of a large export.
        return queryset_table(
            queryset=entries,
            columns=_entry_query_columns(listing),
            title=title,
            slug=slug,
            filters=filters,
        )
    entries = entries.defer(None).defer("content_hash")

    def rows() -> Iterator[DirectoryEntry]:
        found = selectors.entries_attach_connections(
            entries.iterator(chunk_size=CHUNK_SIZE), connections
        )
        for entry in found:
            entry.stored_fields = selectors.entry_fields(entry)
            yield entry

    return ExportTable(
        title=title,
        slug=slug,
        columns=_WithStoredFields(_entry_columns(listing), entries, listing.kind),
        rows=rows,
        count=entries.count,
        filters=filters,
    )


def entries_background(scope: ExportScope) -> bool:
    """A tab across an organisation with several connections always goes to the worker."""
    if scope.kwargs.get("connection_id") or scope.organization is None:
        return False
    return ThreeCXConnection.objects.filter(organization=scope.organization).count() > 1


def _entry_columns(listing: Listing) -> list[ExportColumn]:
    """The tab's export columns: its connection, the entry's 3CX id, then its fields (the
    screen's columns with its combined ones, such as Status, spelled out one per column)."""
    columns = [
        ExportColumn("Connection", lambda entry: entry.connection.name),
        ExportColumn("3CX Id", lambda entry: entry.external_id, CellType.NUMBER),
    ]
    for header, attribute in listing.csv_fields:
        columns.append(ExportColumn(header, _getter(attribute), _cell_type(attribute)))
    return columns


def _entry_query_columns(listing: Listing) -> list[QueryColumn]:
    """`_entry_columns` as the database's columns (the connection's name through its key)."""
    return [
        QueryColumn("Connection", "connection__name"),
        QueryColumn("3CX Id", "external_id", CellType.NUMBER),
        *(
            QueryColumn(header, attribute, _cell_type(attribute))
            for header, attribute in listing.csv_fields
        ),
    ]


def _getter(attribute: str) -> Callable[[Any], Any]:
    return lambda entry: getattr(entry, attribute)


def _cell_type(attribute: str) -> CellType:
    if attribute in _PHONE_ATTRIBUTES:
        return CellType.PHONE
    if attribute in _NUMBER_ATTRIBUTES:
        return CellType.NUMBER
    if attribute in _BOOLEAN_ATTRIBUTES:
        return CellType.BOOLEAN
    return CellType.TEXT


class _WithStoredFields(Sequence):
    """The tab's columns followed by one per key of the exported entries' stored items,
    found by one query when the columns are first needed (not when an export is only
    planned or its access checked)."""

    def __init__(
        self, columns: list[ExportColumn], entries: QuerySet[DirectoryEntry], kind: str
    ) -> None:
        self._columns = columns
        self._entries = entries
        self._kind = kind
        self._all: list[ExportColumn] | None = None

    def __getitem__(self, index):  # type: ignore[override]
        return self._resolved()[index]

    def __len__(self) -> int:
        return len(self._resolved())

    def _resolved(self) -> list[ExportColumn]:
        if self._all is None:
            taken = {column.header for column in self._columns}
            secrets = _secret_fields(self._kind)
            keys = [k for k in stored_keys(self._entries) if k not in secrets]
            self._all = [
                *self._columns,
                *(
                    ExportColumn(f"{key} (3CX)" if key in taken else key, _stored(key))
                    for key in sorted(keys, key=str.casefold)
                ),
            ]
        return self._all


def _secret_fields(kind: str) -> frozenset[str]:
    """What the spec calls secret in items of `kind`: never stored, and never a column."""
    entity_set = next((s.entity_set for s in SOURCES if s.kind == kind), None)
    return spec.entity_set_secret_fields(entity_set) if entity_set else frozenset()


def _stored(key: str) -> Callable[[Any], Any]:
    return lambda entry: entry.stored_fields.get(key)


def stored_keys(entries: QuerySet[DirectoryEntry]) -> list[str]:
    """Every top-level key of the stored items of `entries`, in one query."""
    ids_sql, params = entries.order_by().values("pk").query.sql_with_params()
    table = DirectoryEntry._meta.db_table
    if db_connection.vendor == "postgresql":
        sql = f"SELECT DISTINCT jsonb_object_keys(data) FROM {table} WHERE id IN ({ids_sql})"  # noqa: S608 - no user input in the text
    else:
        sql = (
            f"SELECT DISTINCT j.key FROM {table} AS e, json_each(e.data) AS j "  # noqa: S608
            f"WHERE e.id IN ({ids_sql})"
        )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [key for (key,) in cursor.fetchall() if not key.startswith("@odata.")]


# --- directory.changes ---------------------------------------------------------------------------


def changes_table(scope: ExportScope) -> ExportTable:
    access = _access(scope)
    run_id = _uuid(scope.kwargs.get("run_id"))
    connection_id = _uuid(scope.kwargs.get("connection_id"))
    if run_id:
        run = tenant_object_get(SyncRun.objects.select_related("connection"), access, pk=run_id)
        connection = run.connection
        changes = selectors.change_list(run=run)
        when = formats.date_format(run.created_at, "DATETIME_FORMAT")
        title = f"Changes of the sync of {when} on {connection.name}"
        slug = f"{slugify(connection.name)}-sync-{run.created_at:%Y-%m-%d-%H%M}-changes"
    elif connection_id:
        run = None
        connection = connection_get(access, connection_id)
        changes = selectors.change_list(connection=connection)
        title = f"Change history of {connection.name}"
        slug = f"{slugify(connection.name)}-changes"
    else:
        raise Http404("Which change history?")
    change_filter = change_filterset(scope.params, changes)
    found = change_filter.qs
    columns = [
        ExportColumn("Entry", lambda change: change.label or str(change.external_id)),
        ExportColumn("Kind", lambda change: change.get_kind_display()),
        ExportColumn("Change", lambda change: change.get_action_display()),
        ExportColumn("What changed", _what_changed),
    ]
    if run is None:
        columns.insert(0, ExportColumn("Sync", lambda c: c.run.created_at, CellType.DATETIME))
    return ExportTable(
        title=title,
        slug=slug,
        columns=columns,
        rows=lambda: found.iterator(chunk_size=CHUNK_SIZE),
        count=found.count,
        filters=filters_in_words(change_filter.form),
    )


def _what_changed(change: SyncChange) -> str:
    """The screen's "What changed" cell as lines of text: `Field: before → after`."""
    fields = selectors.change_fields(change)
    if fields:
        lines = (f"{f.name}: {f.before or '(none)'} → {f.after or '(none)'}" for f in fields)
        return "\n".join(lines)
    if change.action == SyncChange.Action.ADDED:
        return "New in this sync"
    if change.action == SyncChange.Action.REMOVED:
        return "No longer on the phone system"
    return "No field-level detail"


# --- shared ------------------------------------------------------------------------------------


def filters_in_words(form: forms.Form, *, sort: str = "") -> str:
    """A listing form's valid search and filters as people read them ("Search “smith”;
    Department: Sales"), then the sort; invalid values are left out, as the listing ignores
    them."""
    form.is_valid()
    words = []
    for name, field in form.fields.items():
        if name == "sort" or isinstance(field.widget, forms.HiddenInput):
            continue
        value = form.cleaned_data.get(name)
        if value in (None, "", [], ()):
            continue
        if name == "q":
            words.append(f"Search “{value}”")
            continue
        choices = dict(getattr(field, "choices", ()) or ())
        shown = choices.get(value, value)
        words.append(f"{field.label}: {shown}")
    if sort:
        words.append(sort)
    return "; ".join(str(word) for word in words)


def _sort_words(listing: Listing, sort: str) -> str:
    if not sort:
        return ""
    key = sort.removeprefix("-")
    label = next((c.label for c in listing.columns if c.sort == key), key)
    return f"sorted by {label}{' (descending)' if sort.startswith('-') else ''}"


def _uuid(value: str | None) -> uuid.UUID | None:
    """An id from an export's arguments; 404 for a malformed one, as in a URL."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such list.") from None


def _access(scope: ExportScope) -> OrganizationAccess:
    if scope.organization is None:
        raise Http404("The directory belongs to an organisation.")
    return organization_access_get(user=scope.user, organization_id=scope.organization.pk)
