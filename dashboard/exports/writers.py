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
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import chain, islice
from os import PathLike
from typing import Any, BinaryIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import get_column_letter

from dashboard.exports.tables import CellType, ExportTable

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
    if not text or (text[0] not in _RISKY_START and not text[0].isspace()):
        return text  # the common case, decided by the first character alone
    if _PHONE_NUMBER.fullmatch(text):
        return text
    if text.startswith(_CONTROL_START) or text.lstrip().startswith(_FORMULA_START):
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
    rows = (_xlsx_row(table, item, sheet) for item in table.rows())
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
_FORMULA_START = ("=", "+", "-", "@")
_CONTROL_START = ("\t", "\r")
_RISKY_START = frozenset("".join(_FORMULA_START + _CONTROL_START))
# Only a value that is nothing but a phone number keeps its "+".
_PHONE_NUMBER = re.compile(r"\+?[0-9][0-9 ]*")

_CHUNK_SIZE = 64 * 1024


def _csv_encode(table: ExportTable, *, bom: bool, progress: "_Counter | None") -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column.header) for column in table.columns])
    values = [column.value for column in table.columns]
    pending = bom
    for item in table.rows():
        writer.writerow([_csv_text(value(item)) for value in values])
        if progress is not None:
            progress.add()
        if buffer.tell() >= _CHUNK_SIZE:
            yield _take(buffer, bom=pending)
            pending = False
    yield _take(buffer, bom=pending)


def _take(buffer: io.StringIO, *, bom: bool) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return BOM + data if bom else data


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


class _Counter:
    """Counts rows written and reports them every PROGRESS_EVERY rows."""

    def __init__(self, progress: Progress) -> None:
        self.rows = 0
        self._progress = progress

    def add(self) -> None:
        self.rows += 1
        if self._progress is not None and self.rows % PROGRESS_EVERY == 0:
            self._progress(self.rows)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.rows)
