"""`{% export_menu %}`: the export form every exportable listing shows."""

from typing import Any

from django import template
from django.http import HttpRequest, QueryDict

from dashboard.exports.sources import export_source_get

register = template.Library()

#: Query keys that are about the page, not about which rows: never part of an export.
PAGE_KEYS = ("page", "per_page", "format")


@register.inclusion_tag("exports/_menu.html", takes_context=True)
def export_menu(context: template.Context, source: str, organization: Any, **kwargs: Any) -> dict:
    """The export menu of the listing `source` for `organization` (None for provider-wide
    listings), with the listing URL's other arguments as keywords.

        {% export_menu "directory.entries" organization kind=listing.slug
                       connection_id=connection.pk %}

    The form carries the current request's search, filters and sort (not its page), so the
    export holds exactly the rows the listing selects. Keywords whose value is empty (no
    connection on an organisation-wide tab) are left out.
    """
    registered = export_source_get(source)
    return {
        **_state(context["request"]),
        "csrf_token": context.get("csrf_token"),
        "source": registered.key,
        "organization_id": getattr(organization, "pk", "") or "",
        "kwargs": _encoded({k: v for k, v in kwargs.items() if v not in (None, "")}),
        "has_all_fields": registered.has_all_fields,
        "menu_id": _menu_id(registered.key),
    }


@register.inclusion_tag("exports/_menu_state.html", takes_context=True)
def export_menu_state(context: template.Context, source: str) -> dict:
    """For a menu placed outside the part of the page HTMX swaps: the fragment carries this,
    which replaces the menu's search, filters and sort out of band with the current ones.

    `{% export_menu_state "directory.entries" %}` in the fragment of a listing whose page has
    `{% export_menu "directory.entries" ... %}`.
    """
    return {**_state(context["request"]), "menu_id": _menu_id(source), "oob": True}


def export_params(query: QueryDict) -> QueryDict:
    """A listing's query string as an export keeps it: without paging, the export format
    or empty values."""
    kept = QueryDict(mutable=True)
    for key, values in query.lists():
        if key in PAGE_KEYS:
            continue
        values = [v for v in values if v]
        if values:
            kept.setlist(key, values)
    return kept


def _state(request: HttpRequest) -> dict[str, str]:
    """The listing's search, filters and sort, and its address with them."""
    params = export_params(request.GET)
    query = params.urlencode()
    return {"params": query, "listing": f"{request.path}?{query}" if query else request.path}


def _menu_id(source: str) -> str:
    return f"export-{source.replace('.', '-')}"


def _encoded(values: dict[str, Any]) -> str:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        query[key] = str(value)
    return query.urlencode()
