"""Writing an `ExportTable` as CSV or XLSX, row by row, in constant memory.

CSV follows RFC 4180 (every line ends in CRLF, fields with a comma, quote or line break are
quoted, quotes doubled), in UTF-8 with a byte order mark unless asked not to, dates in
ISO 8601 with their offset, numbers unformatted and booleans as yes/no. A text cell that a
spreadsheet would run as a formula is neutralised the way OWASP recommends ("CSV Injection"):
a leading apostrophe. XLSX cells are typed (numbers, dates, booleans) and text cells are
always text, never formulas.
"""

import csv
import datetime
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from decimal import Decimal
from itertools import chain, islice
from os import PathLike
from typing import Any, BinaryIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import get_column_letter

from dashboard.exports.tables import CellType, ExportColumn, ExportTable, Stored

__all__ = [
    "PROGRESS_EVERY",
    "csv_cell",
    "csv_chunks",
    "csv_write",
    "sheet_title",
    "xlsx_write",
]

#: `progress(rows_written)` is called after every this many rows, and once at the end.
PROGRESS_EVERY = 1000

Progress = Callable[[int], None] | None

BOM = "\ufeff".encode()


def csv_cell(value: Any) -> str:
    """`value` as CSV text a spreadsheet will show, never run: a formula gets a leading '.

    A cell is neutralised when it starts with =, +, -, @ (also after leading whitespace or
    line breaks, which spreadsheets skip), a tab or a carriage return; a value that is
    nothing but a phone number (E.164 "+14155550107" or 3CX's dialable "+44 20 7946 0018")
    keeps its "+", but "+14155550107 / 07" is a division to a spreadsheet and is escaped.
    """
    text = "" if value is None else str(value)
    # Most cells are decided by their first character alone.
    if text and text[0] in _CELL_START and _FORMULA.match(text):
        return f"'{text}"
    return text


def csv_chunks(table: ExportTable, *, bom: bool = True) -> Iterator[bytes]:
    """The table as CSV bytes, in chunks of about 64 KiB, for a streaming response."""
    return _csv_encode(table, bom=bom, progress=None)


def csv_write(
    table: ExportTable, out: BinaryIO, *, bom: bool = True, progress: Progress = None
) -> int:
    """Write the table as CSV to `out`; return how many rows (header not counted)."""
    counter = _Counter(progress)
    for chunk in _csv_encode(table, bom=bom, progress=counter):
        out.write(chunk)
    counter.finish()
    return counter.rows


def xlsx_write(
    table: ExportTable, out: BinaryIO | str | PathLike, *, progress: Progress = None
) -> int:
    """Write the table as an XLSX workbook of one sheet to `out` (a binary file or a path);
    return how many rows (header not counted).

    openpyxl's write-only mode streams rows to a temporary file, so memory stays flat
    whatever the row count. Column widths are read from the header and the first rows.
    """
    counter = _Counter(progress)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(table))
    headers = [column.header for column in table.columns]
    with _closing(table.rows()) as items:
        rows = (_xlsx_row(table, item, sheet) for item in items)
        first = list(islice(rows, _WIDTH_SAMPLE))
        for index, width in enumerate(_widths(headers, first), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_xlsx_text(header, sheet) for header in headers])
        for row in chain(first, rows):
            sheet.append(row)
            counter.add()
    if headers:
        last = f"{get_column_letter(len(headers))}{counter.rows + 1}"
        sheet.auto_filter.ref = f"A1:{last}"
    workbook.save(out)
    counter.finish()
    return counter.rows


def sheet_title(table: ExportTable) -> str:
    """A worksheet name Excel accepts, from the table's title (or its slug): at most 31
    characters, none of : \\ / ? * [ ], not blank, not starting or ending with '."""
    for candidate in (table.title, table.slug):
        name = _SHEET_FORBIDDEN.sub(" ", candidate or "")
        name = " ".join(name.split())[:_SHEET_MAX].strip().strip("'").strip()
        if name and name.lower() != "history":  # Excel reserves "History"
            return name
    return "Export"


# --- CSV ---------------------------------------------------------------------------------

# Spreadsheets run a cell as a formula when it starts with one of these, even after leading
# whitespace (" =1+1", "\n@SUM(...)"); a leading tab or carriage return is refused as well.
_FORMULA_START = "=+-@"
_CONTROL_START = "\t\r"
#: What str.isspace() calls whitespace: what str.lstrip() and spreadsheets skip.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
#: A cell starting with none of these is written as it is.
_CELL_START = frozenset(_FORMULA_START + _CONTROL_START + _WHITESPACE)


def _formula_rule(end: str) -> str:
    """The rule, matched at a cell's start: a tab or carriage return; or, unless the whole
    value (up to `end`) is a phone number ("+14155550107", "+44 20 7946 0018"), a formula
    character after any whitespace. It first looks at the first character alone, which
    decides most cells."""
    start = re.escape("".join(sorted(_CELL_START)))
    space, formula = re.escape(_WHITESPACE), re.escape(_FORMULA_START)
    return (
        rf"(?=[{start}])"
        rf"(?:[{_CONTROL_START}]|(?!\+?[0-9][0-9 ]*{end})[{space}]*[{formula}])"
    )


_FORMULA = re.compile(_formula_rule(r"\Z"))
# The same rule over many cells at once, each preceded by a character that database text
# does not hold (PostgreSQL refuses it; a value that has it is checked on its own).
_SEPARATOR = "\x00"
_FORMULAS = re.compile(_SEPARATOR + _formula_rule(rf"(?:{_SEPARATOR}|\Z)"))

_CHUNK_SIZE = 64 * 1024
_YES_NO = {True: "yes", False: "no"}


def _csv_encode(table: ExportTable, *, bom: bool, progress: "_Counter | None") -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column.header) for column in table.columns])
    pending = bom
    with closing(_csv_rows(table)) as parts:
        for rows in parts:
            writer.writerows(rows)
            if progress is not None:
                progress.add(len(rows))
            if buffer.tell() >= _CHUNK_SIZE:
                yield from _take(buffer, bom=pending)
                pending = False
    yield from _take(buffer, bom=pending)


def _csv_rows(table: ExportTable) -> Iterator[Sequence[Sequence[Any]]]:
    """The table's rows as CSV cells, PROGRESS_EVERY rows at a time (the csv module takes
    them as they are: str, numbers, None for an empty cell)."""
    if table.batches is None:
        values = [column.value for column in table.columns]
        with _closing(table.rows()) as items:
            while part := list(islice(items, PROGRESS_EVERY)):
                yield [[_csv_text(value(item)) for value in values] for item in part]
        return
    cells, written = _BatchCells(table.columns), 0
    with _closing(table.batches()) as batches:
        for batch in batches:
            start = 0
            while start < len(batch):
                # Cut where progress is due, as if the rows came one by one.
                end = start + PROGRESS_EVERY - written % PROGRESS_EVERY
                part = batch[start:end]
                written += len(part)
                start = end
                yield cells(part)


class _BatchCells:
    """Rows of a table's `batches` as CSV cells, decided once per column (by what it stores)
    rather than once per cell: numbers are written as they are, booleans as yes/no, text is
    neutralised where `csv_cell` would (found for many cells at once), anything else is
    formatted cell by cell as `_csv_text` does."""

    def __init__(self, columns: Sequence[ExportColumn]) -> None:
        self._text = [i for i, column in enumerate(columns) if column.stored == Stored.TEXT]
        self._mapped: dict[int, Callable[[Any], Any]] = {
            i: _YES_NO.get if column.stored == Stored.BOOLEAN else _csv_text
            for i, column in enumerate(columns)
            if column.stored in (Stored.BOOLEAN, Stored.ANY)
        }

    def __call__(self, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        if not rows or not (self._text or self._mapped):
            return rows
        columns: list[Any] = list(zip(*rows, strict=True))
        if self._mapped:
            for i, cell in self._mapped.items():
                columns[i] = map(cell, columns[i])
            rows = list(zip(*columns, strict=True))
        changed: list[Sequence[Any]] | None = None
        for i in self._text:
            for index, cell in _neutralised(columns[i]):
                if changed is None:
                    changed = list(rows)
                row = changed[index]
                changed[index] = (*row[:i], cell, *row[i + 1 :])
        return rows if changed is None else changed


def _neutralised(values: Sequence[str | None]) -> list[tuple[int, str]]:
    """(index, cell) of the values `csv_cell` changes, found by one search of its rule over
    the values joined, rather than a call per value."""
    try:
        joined = _SEPARATOR + _SEPARATOR.join(values)
    except TypeError:  # None among them: it reads "None", which the rule leaves alone
        joined = _SEPARATOR + _SEPARATOR.join(map(str, values))
    if joined.count(_SEPARATOR) != len(values):  # a value holds the separator itself
        return [(i, cell) for i, v in enumerate(values) if v and (cell := csv_cell(v)) != v]
    found, index, position = [], -1, 0
    for match in _FORMULAS.finditer(joined):
        start = match.start() + 1  # just after the separator of the value matched
        index += joined.count(_SEPARATOR, position, start)
        position = start
        found.append((index, f"'{values[index]}"))
    return found


def _take(buffer: io.StringIO, *, bom: bool) -> Iterator[bytes]:
    """What the buffer holds, encoded, in chunks of at most _CHUNK_SIZE bytes."""
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    if bom:
        data = BOM + data
    for start in range(0, len(data), _CHUNK_SIZE):
        yield data[start : start + _CHUNK_SIZE]


def _csv_text(value: Any) -> str:
    """One cell in the format its value's type has in every export."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return csv_cell(value)
    if kind is bool:
        return "yes" if value else "no"
    if kind in (int, float, Decimal):
        return str(value)  # a negative number is a number, not a formula
    if isinstance(value, datetime.datetime):
        return _aware(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return csv_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return csv_cell(value)


def _aware(value: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return timezone.localtime(value)


# --- XLSX --------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[:\\/?*\[\]\x00-\x1f]")
_SHEET_MAX = 31
#: Rows read before the first is written, to size the columns.
_WIDTH_SAMPLE = 200
_MIN_WIDTH, _MAX_WIDTH = 6, 60
#: Excel's limit on the characters of one cell.
_CELL_MAX = 32767


def _xlsx_row(table: ExportTable, item: Any, sheet: Any) -> list[Any]:
    return [_xlsx_value(column.value(item), column.type, sheet) for column in table.columns]


def _xlsx_value(value: Any, cell_type: CellType, sheet: Any) -> Any:
    if value is None:
        return None
    if cell_type in (CellType.TEXT, CellType.PHONE) or isinstance(value, str):
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif isinstance(value, datetime.datetime):
            value = _aware(value).isoformat(timespec="seconds")
        return _xlsx_text(str(value), sheet)
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: the local time of the dashboard's zone, as on screen.
        return _aware(value).replace(tzinfo=None)
    if isinstance(value, (bool, int, float, Decimal, datetime.date)):
        return value
    return _xlsx_text(str(value), sheet)


def _xlsx_text(text: str, sheet: Any) -> Any:
    """A text cell: characters XML cannot hold are dropped, and text starting with "=" is
    kept as text (openpyxl would otherwise write it as a formula)."""
    if not text.isprintable():  # rare: most text has no control character at all
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    text = text[:_CELL_MAX]
    if text.startswith("=") and len(text) > 1:
        cell = Cell(sheet, row=1, column=1, value="")
        cell._value = text
        cell.data_type = "s"
        return cell
    return text


def _widths(headers: list[str], rows: Iterable[list[Any]]) -> list[float]:
    widths = [len(header) for header in headers]
    for row in rows:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _shown_length(value))
    return [min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH) for width in widths]


def _shown_length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, Cell):
        value = value.value
    if isinstance(value, datetime.datetime):
        return 19
    if isinstance(value, datetime.date):
        return 10
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


@contextmanager
def _closing(rows: Iterable[Any]) -> Iterator[Iterator[Any]]:
    """`rows` as an iterator, closed when done (or stopped early) if it can be: a table read
    on a connection of its own closes it."""
    iterator = iter(rows)
    try:
        yield iterator
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


class _Counter:
    """Counts rows written and reports them every PROGRESS_EVERY rows."""

    def __init__(self, progress: Progress) -> None:
        self.rows = 0
        self._progress = progress

    def add(self, rows: int = 1) -> None:
        before = self.rows
        self.rows += rows
        if self._progress is not None and self.rows // PROGRESS_EVERY > before // PROGRESS_EVERY:
            self._progress(self.rows)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.rows)
