"""The writers turn any table into CSV (RFC 4180, UTF-8, formulas neutralised) or XLSX
(typed cells, a frozen and filterable header), one row at a time."""

import csv
import datetime
import io
import random
import sys
from contextlib import closing
from dataclasses import replace
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from dashboard.exports import writers
from dashboard.exports.tables import CellType, ExportColumn, ExportTable, Stored
from dashboard.exports.writers import csv_cell, csv_chunks, csv_write, sheet_title, xlsx_write

PARIS = ZoneInfo("Europe/Paris")

#: Every cell OWASP says a spreadsheet may run: a leading =, +, -, @ (also after the
#: whitespace spreadsheets skip), tab or carriage return, unless the value is nothing but a
#: phone number (^\+?[0-9][0-9 ]*$).
NEUTRALISED = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A9)",
    '=HYPERLINK("http://x")',
    " =1+1",
    "  @SUM(A1)",
    "\n=1+1",
    "\r\n+1",
    "\u00a0=1+1",
    "\u3000-1",
    "\t=1+1",
    "\tplain text after a tab",
    "\rplain text after a carriage return",
    "+14155550107 / 07",
    "+1 (415) 555-0107",
    "-14155550107",
    "+",
    "+ 1",
    " +14155550107",
    "+14155550107\n",
    "=",
    "-",
    "@",
]

LEFT_AS_THEY_ARE = [
    "+14155550107",
    "+44 20 7946 0000",
    "14155550107",
    "0 800 123 456",
    "0044 20 7946 0018",
    "101",
    "Ada Lovelace",
    "ada@example.com",
    "a=b",
    "Smith-Jones",
    " leading space only",
    "",
]


def table(columns, rows, *, title="Contacts of Acme", slug="acme-contacts") -> ExportTable:
    rows = list(rows)
    return ExportTable(
        title=title, slug=slug, columns=columns, rows=lambda: iter(rows), count=lambda: len(rows)
    )


def text_table(*values: str) -> ExportTable:
    return table([ExportColumn("Value", lambda row: row)], values)


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def csv_bytes(export_table: ExportTable, **options) -> bytes:
    return b"".join(csv_chunks(export_table, **options))


def xlsx_sheet(export_table: ExportTable):
    out = io.BytesIO()
    xlsx_write(export_table, out)
    out.seek(0)
    return openpyxl.load_workbook(out).active


# --- formula injection -----------------------------------------------------------------------


@pytest.mark.parametrize("value", NEUTRALISED)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(value):
    assert csv_cell(value) == f"'{value}"


@pytest.mark.parametrize("value", LEFT_AS_THEY_ARE)
def test_phone_numbers_and_plain_text_are_left_as_they_are(value):
    assert csv_cell(value) == value


def test_a_phone_number_followed_by_a_division_is_not_a_phone_number():
    """The case the issue names: "+14155550107 / 07" evaluates as a division."""
    _, *rows = read_csv(csv_bytes(text_table("+14155550107 / 07", "+14155550107")))
    assert rows == [["'+14155550107 / 07"], ["+14155550107"]]


def test_every_neutralised_value_is_neutralised_in_the_file_too():
    _, *rows = read_csv(csv_bytes(text_table(*NEUTRALISED, *LEFT_AS_THEY_ARE)))
    assert [row[0] for row in rows] == [
        *(f"'{value}" for value in NEUTRALISED),
        *LEFT_AS_THEY_ARE,
    ]


def test_headers_are_neutralised_as_well():
    header, *_ = read_csv(csv_bytes(table([ExportColumn("=cmd", lambda r: r)], [])))
    assert header == ["'=cmd"]


def test_xlsx_writes_formula_looking_text_as_text_never_as_a_formula():
    sheet = xlsx_sheet(text_table("=1+1", '=HYPERLINK("http://x")', "+14155550107 / 07", "@A1"))
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [
        "=1+1",
        '=HYPERLINK("http://x")',
        "+14155550107 / 07",
        "@A1",
    ]
    assert {c.data_type for c in cells} == {"s"}


# --- CSV -------------------------------------------------------------------------------------


def test_csv_starts_with_a_byte_order_mark_unless_asked_not_to():
    with_bom = csv_bytes(text_table("Zoë"))
    without = csv_bytes(text_table("Zoë"), bom=False)
    assert with_bom.startswith(b"\xef\xbb\xbf") and with_bom.count(b"\xef\xbb\xbf") == 1
    assert not without.startswith(b"\xef\xbb\xbf")
    assert with_bom[3:] == without == "Value\r\nZoë\r\n".encode()


def test_csv_follows_rfc_4180_quoting_and_crlf_line_ends():
    data = csv_bytes(text_table('Say "cheese"', "a,b", "two\nlines", "plain"), bom=False)
    assert data == b'Value\r\n"Say ""cheese"""\r\n"a,b"\r\n"two\nlines"\r\nplain\r\n'


def test_csv_writes_dates_in_iso_8601_with_their_offset(settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime.datetime(2026, 7, 1, 8, 30, 15, 123456, tzinfo=datetime.UTC)
    columns = [
        ExportColumn("At", lambda r: r[0], CellType.DATETIME),
        ExportColumn("On", lambda r: r[1], CellType.DATE),
    ]
    _, row = read_csv(csv_bytes(table(columns, [(moment, datetime.date(2026, 1, 2))])))
    assert row == ["2026-07-01T10:30:15+02:00", "2026-01-02"]


def test_csv_writes_numbers_unformatted_booleans_as_yes_no_and_nothing_for_none():
    columns = [ExportColumn(str(i), lambda r, i=i: r[i], CellType.NUMBER) for i in range(4)]
    columns += [
        ExportColumn("Enabled", lambda r: r[4], CellType.BOOLEAN),
        ExportColumn("Admin", lambda r: r[5], CellType.BOOLEAN),
        ExportColumn("Missing", lambda r: None),
        ExportColumn("Tags", lambda r: r[6]),
    ]
    rows = [(1234567, -5, Decimal("1234.50"), 0.25, True, False, ["a", {"b": "ü"}])]
    _, row = read_csv(csv_bytes(table(columns, rows)))
    assert row == ["1234567", "-5", "1234.50", "0.25", "yes", "no", "", '["a", {"b": "ü"}]']


def test_csv_write_counts_rows_and_reports_progress(monkeypatch):
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 3)
    reported = []
    out = io.BytesIO()
    rows = csv_write(text_table(*map(str, range(7))), out, progress=reported.append)
    assert rows == 7
    assert reported == [3, 6, 7]
    _, *written = read_csv(out.getvalue())
    assert [r[0] for r in written] == [str(n) for n in range(7)]


def test_csv_comes_in_chunks_without_holding_every_row(monkeypatch):
    monkeypatch.setattr(writers, "_CHUNK_SIZE", 100)
    chunks = list(csv_chunks(text_table(*(f"row {n}" for n in range(200)))))
    assert len(chunks) > 10
    assert all(len(chunk) < 200 for chunk in chunks)
    assert b"".join(chunks).count(b"\xef\xbb\xbf") == 1


def test_the_rows_are_read_once_and_lazily():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield str(n)

    export_table = ExportTable(
        title="t", slug="t", columns=[ExportColumn("n", lambda r: r)], rows=rows, count=lambda: 3
    )
    chunks = csv_chunks(export_table)
    assert read == []
    b"".join(chunks)
    assert read == [0, 1, 2]


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_cells_are_typed_and_phone_numbers_stay_text(settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime.datetime(2026, 7, 1, 8, 30, tzinfo=datetime.UTC)
    columns = [
        ExportColumn("Name", lambda r: r[0]),
        ExportColumn("Phone", lambda r: r[1], CellType.PHONE),
        ExportColumn("Ext.", lambda r: r[2], CellType.PHONE),
        ExportColumn("Members", lambda r: r[3], CellType.NUMBER),
        ExportColumn("Ratio", lambda r: r[4], CellType.NUMBER),
        ExportColumn("Enabled", lambda r: r[5], CellType.BOOLEAN),
        ExportColumn("Synced", lambda r: r[6], CellType.DATETIME),
        ExportColumn("Since", lambda r: r[7], CellType.DATE),
        ExportColumn("Empty", lambda r: None),
    ]
    rows = [("王秀英", "+14155550107", "0101", 12, 0.5, True, moment, datetime.date(2026, 1, 2))]
    sheet = xlsx_sheet(table(columns, rows))
    values = [cell.value for cell in next(sheet.iter_rows(min_row=2))]
    assert values == [
        "王秀英",
        "+14155550107",
        "0101",
        12,
        0.5,
        True,
        datetime.datetime(2026, 7, 1, 10, 30),  # the dashboard's local time: Excel has no zones
        datetime.datetime(2026, 1, 2),
        None,
    ]
    cells = next(sheet.iter_rows(min_row=2))
    assert cells[1].data_type == cells[2].data_type == "s"
    assert cells[3].data_type == "n" and cells[6].is_date and cells[7].is_date


def test_xlsx_has_a_frozen_filterable_header_and_sized_columns():
    columns = [ExportColumn("Name", lambda r: r), ExportColumn("A much longer header", len)]
    sheet = xlsx_sheet(table(columns, ["Ada", "A name well over twenty characters long"]))
    assert [c.value for c in sheet[1]] == ["Name", "A much longer header"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:B3"
    widths = [sheet.column_dimensions[letter].width for letter in "AB"]
    assert widths[0] > len("A name well over twenty characters long")
    assert widths[1] >= len("A much longer header")


def test_xlsx_drops_characters_a_workbook_cannot_hold():
    sheet = xlsx_sheet(text_table("bell\x07 and null\x00 gone", "tab\tand\nnewline kept"))
    assert [r[0].value for r in sheet.iter_rows(min_row=2)] == [
        "bell and null gone",
        "tab\tand\nnewline kept",
    ]


def test_xlsx_write_counts_rows_and_reports_progress(monkeypatch, tmp_path):
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 2)
    reported = []
    path = tmp_path / "out.xlsx"
    assert xlsx_write(text_table(*"abcde"), path, progress=reported.append) == 5
    assert reported == [2, 4, 5]
    assert openpyxl.load_workbook(path).active.max_row == 6


@pytest.mark.parametrize(
    ("title", "slug", "expected"),
    [
        ("Users of Demo Company", "demo-company-users", "Users of Demo Company"),
        ("Contacts of A/B: [Test]? *", "x", "Contacts of A B Test"),
        ("Ring groups of a company with a very long name", "x", "Ring groups of a company with a"),
        ("'Quoted'", "x", "Quoted"),
        ("", "demo-users", "demo-users"),
        ("???", "", "Export"),
        ("History", "", "Export"),
    ],
)
def test_the_sheet_is_named_after_the_listing_within_excels_rules(title, slug, expected):
    name = sheet_title(table([], [], title=title, slug=slug))
    assert name == expected
    assert len(name) <= 31
    assert xlsx_sheet(table([ExportColumn("a", str)], [], title=title, slug=slug)).title == name


# --- many rows at a time -------------------------------------------------------------------


def batched(columns, rows, *, size=3) -> ExportTable:
    """A table whose rows also come as lists of tuples (as a queryset's are read)."""
    rows = list(rows)
    return ExportTable(
        title="t",
        slug="t",
        columns=columns,
        rows=lambda: iter(rows),
        count=lambda: len(rows),
        batches=lambda: iter([rows[i : i + size] for i in range(0, len(rows), size)]),
    )


def positional(*stored: Stored) -> list[ExportColumn]:
    return [ExportColumn(str(i), itemgetter(i), stored=kind) for i, kind in enumerate(stored)]


def same_csv_both_ways(export_table: ExportTable) -> bytes:
    by_batch = csv_bytes(export_table)
    assert by_batch == csv_bytes(replace(export_table, batches=None))
    return by_batch


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_text_checked_many_cells_at_once_is_neutralised_exactly_as_cell_by_cell(size):
    odd = [None, "", "a\x00=b", "=a\x00b", "\x00", " ", "\u2028@x", "x\n=1"]
    values = [*NEUTRALISED, *LEFT_AS_THEY_ARE, *odd]
    data = same_csv_both_ways(batched(positional(Stored.TEXT), [(v,) for v in values], size=size))
    _, *rows = read_csv(data)
    assert [row[0] for row in rows[: len(NEUTRALISED)]] == [f"'{v}" for v in NEUTRALISED]


def test_random_text_is_neutralised_the_same_many_cells_at_once_as_cell_by_cell():
    shuffled = random.Random(11)  # noqa: S311 - the same cases every run
    alphabet = "+-=@ 0123456789\t\r\n\u00a0\u3000\x85ab/(),\"'"
    rows = [
        tuple(
            "".join(shuffled.choice(alphabet) for _ in range(shuffled.randrange(6)))
            for _ in range(3)
        )
        for _ in range(3000)
    ]
    same_csv_both_ways(batched(positional(*[Stored.TEXT] * 3), rows, size=500))


def test_the_rules_whitespace_is_what_python_strips():
    everything = map(chr, range(sys.maxunicode + 1))
    assert "".join(c for c in everything if c.isspace()) == writers._WHITESPACE


def test_numbers_booleans_and_anything_else_are_written_the_same_many_rows_at_once(settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime.datetime(2026, 7, 1, 8, 30, 15, tzinfo=datetime.UTC)
    columns = positional(Stored.NUMBER, Stored.BOOLEAN, Stored.ANY, Stored.TEXT)
    rows = [
        (1234567, True, moment, "=1"),
        (-5, False, datetime.date(2026, 1, 2), None),
        (Decimal("1234.50"), None, ["a", {"b": "ü"}], "Ada"),
        (0.25, True, "=SUM(A1)", "+14155550107"),
        (None, False, True, ""),
    ]
    _, *written = read_csv(same_csv_both_ways(batched(columns, rows)))
    assert written == [
        ["1234567", "yes", "2026-07-01T10:30:15+02:00", "'=1"],
        ["-5", "no", "2026-01-02", ""],
        ["1234.50", "", '["a", {"b": "ü"}]', "Ada"],
        ["0.25", "yes", "'=SUM(A1)", "+14155550107"],
        ["", "no", "yes", ""],
    ]


def test_progress_is_reported_as_batches_are_written(monkeypatch):
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 3)
    reported = []
    export_table = batched(positional(Stored.NUMBER), [(n,) for n in range(10)], size=4)
    assert csv_write(export_table, io.BytesIO(), progress=reported.append) == 10
    assert reported == [3, 6, 9, 10]


def test_a_table_read_in_batches_comes_in_chunks(monkeypatch):
    monkeypatch.setattr(writers, "_CHUNK_SIZE", 100)
    rows = [(f"row {n}",) for n in range(200)]
    chunks = list(csv_chunks(batched(positional(Stored.TEXT), rows, size=50)))
    assert len(chunks) > 10 and all(len(chunk) <= 100 for chunk in chunks)
    assert b"".join(chunks).count(b"\xef\xbb\xbf") == 1


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_rows_are_closed_when_the_writer_stops_early(format):
    """A table read on a connection of its own closes it (a client gone, an export stopped)."""
    closed = []

    def batches():
        try:
            for n in range(100):
                yield [(n,)]
        finally:
            closed.append(True)

    def rows():
        with closing(batches()) as read:
            yield from chain.from_iterable(read)

    export_table = replace(batched(positional(Stored.NUMBER), []), batches=batches, rows=rows)

    def stop(rows: int) -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        if format == "csv":
            csv_write(export_table, io.BytesIO(), progress=stop)
        else:
            xlsx_write(export_table, io.BytesIO(), progress=stop)
    assert closed == [True]
