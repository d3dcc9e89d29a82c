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


#: The largest `@odata.count` believed. No 3CX system holds ten million rows in one collection
#: (the benchmarks' 200,000 contacts are already far beyond real phonebooks); a larger count is
#: a broken server's, and believing it would fail every complete read as "rows missing".
MAX_TRUSTED_COUNT = 10_000_000


def trusted_count(count: Any, *, received: int) -> int | None:
    """The server's `@odata.count` when it can be believed, else None (rows without a total).

    Believed: a JSON integer (not a bool, float or string) from 0 to MAX_TRUSTED_COUNT that is
    not smaller than the `received` rows the first page already holds.
    """
    if not isinstance(count, int) or isinstance(count, bool):
        return None
    if count < received or count > MAX_TRUSTED_COUNT:
        return None
    return count


@dataclass
class PagedCollection:
    """Reads a collection with $top/$skip, yielding items as each page arrives.

    A server may answer fewer rows than `$top` asks for (a page-size cap), so a short page
    does not end the collection: `$skip` advances by the rows received until a page comes
    back empty, or, when the server's `@odata.count` is believed (`trusted_count`), until
    that many rows arrived. An empty page before that count raises `errors.RowsMissing`.

    `total` is the believed count (None: rows without a total), known once the first page
    has been read; it turns None if more rows arrive than it announced. One page is held in
    memory at a time, two while `prefetch` downloads the next.
    """

    fetch_page: Any  # Callable[[str, dict[str, str]], Any], the client's GET
    path: str
    query: Query
    page_size: int
    total: int | None = None
    received: int = 0
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
        """Whether another page is to be asked for after the one just yielded (it may turn
        out empty: without a believed count only an empty page ends a collection)."""
        return self._next_params is not None

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """The items page by page (never an empty page), for callers that write a page at a
        time."""
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
        params = {**self._params(skip=0), "$count": "true"}
        previous_ids: list[Any] | None = None
        while True:
            page = self._fetch(params)
            items = collection_items(page, path=self.path)
            if self.pages_read == 0:
                self.total = trusted_count(page.get("@odata.count"), received=len(items))
            if not items:
                break
            ids = [item.get("Id") for item in items]
            if ids == previous_ids and None not in ids:
                # Without this, a server that ignores $skip would be read forever.
                raise errors.BadResponse(
                    f"{self._name} answered the same rows again for the next page: the server "
                    "does not page with $skip.",
                    permanent=True,
                )
            previous_ids = ids
            self.received += len(items)
            self.pages_read += 1
            if self.total is not None and self.received > self.total:
                self.total = None  # more rows than announced: the count was wrong
            complete = self.total is not None and self.received >= self.total
            self._next_params = None if complete else self._params(skip=self.received)
            if self.on_page is not None:
                self.on_page(self, items)
            yield items
            if complete:
                return
            params = self._next_params
        self._next_params = None
        if self.total is not None and self.received < self.total:
            raise errors.RowsMissing(
                f"The server announced {self.total:,} {self._name} but its pages ran out after "
                f"{self.received:,}: rows were added or removed while they were read, or the "
                "server dropped some. Reading them again usually succeeds."
            )

    @property
    def _name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def _params(self, *, skip: int) -> dict[str, str]:
        return {**self.query.params(), "$top": str(self.page_size), "$skip": str(skip)}

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
