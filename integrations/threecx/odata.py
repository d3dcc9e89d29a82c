"""OData v4 query building and page-by-page collection reading for the XAPI."""

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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

    `total` is the server's `@odata.count`, known once the first page has been read. One page
    is held in memory at a time, two while `prefetch` downloads the next.
    """

    fetch_page: Any  # Callable[[str, dict[str, str]], Any], the client's GET
    path: str
    query: Query
    page_size: int
    total: int | None = None
    pages_read: int = 0
    on_page: Any = None  # Callable[[PagedCollection, list], None] | None
    _started: bool = field(default=False, repr=False)
    _next_params: dict[str, str] | None = field(default=None, repr=False)
    _prefetched: Future | None = field(default=None, repr=False)
    _downloader: ThreadPoolExecutor | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page

    @property
    def has_more(self) -> bool:
        """Whether the page just yielded was full, so that another is to be asked for."""
        return self._next_params is not None

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """The items page by page, for callers that write a page at a time."""
        if self._started:
            raise RuntimeError("A PagedCollection can be iterated once.")
        self._started = True
        try:
            yield from self._pages()
        finally:
            if self._downloader is not None:
                self._downloader.shutdown(wait=False, cancel_futures=True)

    def prefetch(self) -> None:
        """Start downloading the next page now, on a background thread, so that it arrives
        while the caller is busy with the current one. Call it once the caller has decided to
        go on: the request goes out at once. Errors surface when the page is asked for."""
        if self._next_params is None or self._prefetched is not None:
            return
        if self._downloader is None:
            # One thread for the whole collection: a thread's first request builds its own
            # cache and HTTP objects, too slow to do again for every page.
            self._downloader = ThreadPoolExecutor(1, thread_name_prefix=f"prefetch {self.path}")
        self._prefetched = self._downloader.submit(self.fetch_page, self.path, self._next_params)

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        params = {**self.query.params(), "$top": str(self.page_size), "$skip": "0"}
        params["$count"] = "true"
        skip = 0
        while True:
            page = self._fetch(params)
            items = collection_items(page, path=self.path)
            if skip == 0:
                count = page.get("@odata.count")
                self.total = count if isinstance(count, int) else None
            self.pages_read += 1
            if self.on_page is not None:
                self.on_page(self, items)
            if len(items) < self.page_size:
                self._next_params = None
                yield items
                return
            skip += len(items)
            params = {**self.query.params(), "$top": str(self.page_size), "$skip": str(skip)}
            self._next_params = params
            yield items

    def _fetch(self, params: dict[str, str]) -> Any:
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None:
            return prefetched.result()
        return self.fetch_page(self.path, params)


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
