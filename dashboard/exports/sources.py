"""The registry of exportable listings.

Each app that shows a table registers an `ExportSource` (in its AppConfig.ready()), so that a
background export can rebuild the very same table in the worker from what its job row holds:
the source's key, the organisation, the user, the listing's query string and URL arguments.
The exports app never imports the apps above it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from dashboard.exports.tables import ExportTable


@dataclass(frozen=True)
class ExportScope:
    """Everything a source needs to rebuild a listing's table, on the web or in the worker."""

    user: Any
    #: The organisation whose data it is; None for provider-wide tables (the roll-up).
    organization: Any
    #: The listing's query string (search, filters, sort), without the export's own keys.
    params: QueryDict
    #: The listing URL's arguments besides org_id, as strings ({"kind": "users",
    #: "connection_id": "..."}).
    kwargs: dict[str, str] = field(default_factory=dict)
    #: "All fields": every stored field of the rows as extra columns (never a secret).
    all_fields: bool = False


@dataclass(frozen=True)
class ExportSource:
    #: Stable id stored in export rows: "<app>.<listing>" ("directory.entries").
    key: str
    #: Builds the table for a scope. Checks access the way the listing's view does and raises
    #: Http404 / PermissionDenied for anything the user may not see.
    build: Callable[[ExportScope], ExportTable]
    #: Whether this scope must run on the worker whatever its size (exports across
    #: connections or organisations do).
    background: Callable[[ExportScope], bool] = lambda scope: False
    #: Whether the source offers "all fields".
    has_all_fields: bool = False


_SOURCES: dict[str, ExportSource] = {}


def export_source_register(source: ExportSource) -> ExportSource:
    """Make `source` exportable; registering a key twice is a programming error."""
    if source.key in _SOURCES and _SOURCES[source.key] is not source:
        raise ValueError(f"Export source {source.key!r} is registered twice.")
    _SOURCES[source.key] = source
    return source


def export_source_get(key: str) -> ExportSource:
    """The source registered as `key`; LookupError for an unknown one (an export row from a
    version that had it)."""
    try:
        return _SOURCES[key]
    except KeyError:
        raise LookupError(f"No export source {key!r}.") from None
