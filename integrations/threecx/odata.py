"""OData v4 query building and page-by-page collection reading for the XAPI."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from integrations.threecx import errors


def quote(value: str) -> str:
    """An OData string literal: single quotes, with an inner quote doubled (O'Brien)."""
    return "'" + str(value).replace("'", "''") + "'"


def literal(value: Any) -> str:
    """Any Python value as an OData literal (for $filter and function arguments)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote(value)


def key_segment(key: int | str) -> str:
    """`(5)` for an Id, `(Number='101')` for an extension number."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"({key})"
    return f"(Number={quote(str(key))})"


@dataclass(frozen=True)
class Query:
    select: tuple[str, ...] = ()
    filter: str | None = None
    orderby: str | None = None
    expand: tuple[str, ...] = ()
    search: str | None = None

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.filter:
            params["$filter"] = self.filter
        if self.orderby:
            params["$orderby"] = self.orderby
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        if self.search:
            params["$search"] = self.search
        return params


@dataclass
class PagedCollection:
    """Reads a collection with $top/$skip, yielding items as each page arrives.

    `total` is the server's `@odata.count`, known once the first page has been read. Only one
    page is held in memory at a time.
    """

    fetch_page: Any  # Callable[[dict[str, str]], Any], the client's GET
    path: str
    query: Query
    page_size: int
    total: int | None = None
    pages_read: int = 0
    on_page: Any = None  # Callable[[PagedCollection, list], None] | None
    _started: bool = field(default=False, repr=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """The items page by page, for callers that write a page at a time."""
        if self._started:
            raise RuntimeError("A PagedCollection can be iterated once.")
        self._started = True
        skip = 0
        while True:
            params = {**self.query.params(), "$top": str(self.page_size), "$skip": str(skip)}
            if skip == 0:
                params["$count"] = "true"
            page = self.fetch_page(self.path, params)
            items = collection_items(page, path=self.path)
            if skip == 0:
                count = page.get("@odata.count")
                self.total = count if isinstance(count, int) else None
            self.pages_read += 1
            if self.on_page is not None:
                self.on_page(self, items)
            yield items
            if len(items) < self.page_size:
                return
            skip += len(items)


def collection_items(page: Any, *, path: str) -> list[dict[str, Any]]:
    if not isinstance(page, dict) or not isinstance(page.get("value"), list):
        raise errors.BadResponse(
            f"Expected an OData collection (an object with a 'value' list) from {path}.",
            permanent=True,
        )
    items = page["value"]
    if not all(isinstance(item, dict) for item in items):
        raise errors.BadResponse(f"The collection from {path} holds something other than objects.")
    return items
