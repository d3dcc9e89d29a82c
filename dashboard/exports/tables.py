"""What an export writes: a table of typed columns over rows in the screen's order.

Every listing that can be exported describes itself as an `ExportTable`; the writers
(`dashboard.exports.writers`) turn one into CSV or XLSX without knowing where it came from.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CellType(StrEnum):
    """How a column's values are written: CSV writes text in one format per type, XLSX typed
    cells (a phone number stays text so that its "+" and leading zeros survive)."""

    TEXT = "text"
    NUMBER = "number"  # int, float or Decimal; written unformatted
    DATE = "date"
    DATETIME = "datetime"  # aware datetimes; ISO 8601 with offset in CSV
    BOOLEAN = "boolean"  # written "yes" / "no" in CSV, TRUE/FALSE in XLSX
    PHONE = "phone"  # text, never a number, never a formula


class Stored(StrEnum):
    """What a column's values are for certain, when the database column they are read from
    says so: CSV then decides once per column what its cells may need (a number never needs
    neutralising) instead of once per cell."""

    ANY = "any"  # anything: each cell is formatted by its value's type
    TEXT = "text"  # str or None
    NUMBER = "number"  # int, float or Decimal (never a bool), or None
    BOOLEAN = "boolean"  # bool or None


@dataclass(frozen=True)
class ExportColumn:
    header: str
    #: The cell's value for one row (None: an empty cell).
    value: Callable[[Any], Any]
    type: CellType = CellType.TEXT
    stored: Stored = Stored.ANY


@dataclass(frozen=True)
class ExportTable:
    """One listing as it is on screen: the rows its search, filters and sort select (every
    page), in its order, with its columns."""

    #: Shown in the list of a user's exports ("Users of Demo Company").
    title: str
    #: File name stem and XLSX sheet name source ("demo-company-users").
    slug: str
    columns: Sequence[ExportColumn]
    #: A fresh iterator over the rows on each call; it must stream (`queryset.iterator()`),
    #: never load every row at once.
    rows: Callable[[], Iterable[Any]]
    #: How many rows `rows()` yields (one COUNT query).
    count: Callable[[], int]
    #: The search, filters and sort in words ("Search “smith”; Department: Sales; sorted by
    #: name"), kept with the export and written to the activity log.
    filters: str = ""
    #: The same rows as lists of tuples, each holding the columns' values in the columns'
    #: order (each column's `value` is `itemgetter(its index)`), for a writer that takes many
    #: rows at a time; a fresh iterator on each call, closed by whoever stops early. None:
    #: only `rows()`.
    batches: Callable[[], Iterator[list[tuple]]] | None = None
