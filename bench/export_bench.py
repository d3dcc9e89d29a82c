"""Export benchmark: the contacts tab as CSV and XLSX, against PostgreSQL's own COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dash_bench \\
        .venv/bin/python bench/export_bench.py
    options: --runs N (5)  --quick (small sizes)  --keepdb  --no-write  --output PATH
             --database NAME (bench_export)

Needs PostgreSQL (DATABASE_URL's server if it is a postgres:// URL, else 127.0.0.1:5432 as
postgres). The script drops, creates and migrates a database of its own (bench_export, or
--database NAME; --keepdb reuses one it has filled before), fills it with one organisation
whose viewer exports, and one connection per size holding that many contacts (10,000, 100,000
and 1,000,000, plus 100 for warming up), inserted with `INSERT ... SELECT FROM
generate_series` over 20,000 contacts from the simulator's generator (accents, CJK, RTL,
shared companies, messy numbers; e-mail addresses and numbers varied per row), and writes its
figures into docs/BENCHMARKS.md between the export-bench markers.

The table is the product's: `export_source_get("directory.entries").build(...)` for the
contacts of one connection, as a viewer, with no search or filter (so in the tab's default
order), written by `dashboard.exports.writers.csv_write` / `xlsx_write` to a file on disk, as
a background export does (the file goes to the page cache; its size is reported).

- Speed, `--runs` rounds on the 100,000-contact connection, each: COPY (SELECT the same
  columns, same rows, same order) TO STDOUT WITH CSV read through psycopg's copy API on the
  same database connection with the bytes discarded; then the product's CSV; then its XLSX.
  Rows per second, CPU seconds of this process and of its PostgreSQL backends (the export
  reads on a connection of its own), and each writer's rate against the COPY of the same
  round (medians over the rounds).
- Memory: each size and format in a fresh process that has loaded Django and written a small
  export of the same format (imports and caches warmed, as a worker's are); its resident
  high-water mark (/proc/self/status VmHWM) is reset just before the export (Linux
  /proc/self/clear_refs), and the peak during the export is reported beside the RSS before it.
"""

import argparse
import csv
import gc
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "bench_export"
MARK_BEGIN = "<!-- export-bench:begin (written by bench/export_bench.py; edits here are lost) -->"
MARK_END = "<!-- export-bench:end -->"
ORGANIZATION_NAME = "Export Benchmark"
VIEWER_EMAIL = "export-bench-viewer@example.com"
WARM_UP_CONTACTS = 100
#: Distinct contacts made by the simulator's generator; the rows cycle through them.
POOL_SIZE = 20_000
TARGET_COPY_RATIO = 0.5
TARGET_MEMORY_GROWTH = 0.10
FORMATS = ("csv", "xlsx")
#: The contacts tab's export headers, as the expressions COPY selects (e: the entry, c: its
#: connection).
HEADER_COLUMNS = {
    "Connection": "c.name",
    "3CX Id": "e.external_id",
    "Name": "e.name",
    "First name": "e.first_name",
    "Last name": "e.last_name",
    "Company": "e.company",
    "Department": "e.department",
    "Email": "e.email",
    "Phone": "e.phone",
    "Mobile": "e.mobile",
    "Type": "e.entry_type",
}


@dataclass(frozen=True)
class Sizes:
    speed_rows: int
    memory_rows: tuple[int, ...]

    @property
    def connections(self) -> tuple[int, ...]:
        return tuple(sorted({WARM_UP_CONTACTS, self.speed_rows, *self.memory_rows}))


FULL = Sizes(100_000, (10_000, 100_000, 1_000_000))
QUICK = Sizes(10_000, (10_000, 100_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--runs", type=int, default=5, help="rounds (medians are reported)")
    parser.add_argument("--keepdb", action="store_true", help="reuse the benchmark database")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the docs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="the database to drop, create and use"
    )
    parser.add_argument("--child", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _environment_prepare(database=args.database, create=False, migrate=False)
        print(json.dumps(child_export(args.child, args.rows)))
        return
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    _environment_prepare(database=args.database, create=not args.keepdb, migrate=True)
    report = Report(sizes)
    report.seed_seconds = contacts_seed(sizes)
    benchmark(report, runs=args.runs, database=args.database)
    report.total_seconds = time.monotonic() - started
    text = report_markdown(report, quick=args.quick)
    print(text)
    if not args.no_write:
        docs_write(args.output, text)
        print(f"Written to {args.output}")


# --- the measurements --------------------------------------------------------------------------


@dataclass
class Pass:
    rows: int
    seconds: float
    cpu_this: float
    cpu_database: float
    size: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu(self) -> float:
        """CPU seconds of this process and its PostgreSQL backends together."""
        return self.cpu_this + self.cpu_database


@dataclass
class Round:
    copy: Pass
    csv: Pass
    xlsx: Pass


@dataclass
class Report:
    sizes: Sizes
    rounds: list[Round] = field(default_factory=list)
    #: One per (format, rows): what child_export returned.
    memory: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    copy_sql: str = ""
    checked: str = ""
    seed_seconds: float = 0.0
    total_seconds: float = 0.0


def benchmark(report: Report, *, runs: int, database: str) -> None:
    rows = report.sizes.speed_rows
    table = table_build(rows)
    report.headers = [column.header for column in table.columns]
    report.copy_sql = copy_sql(report.headers, rows)
    with tempfile.TemporaryDirectory(prefix="export-bench-") as directory:
        # Warm-up: the table's pages in PostgreSQL's buffers, imports and caches here.
        copy_measured(report.copy_sql)
        report.checked = same_rows_check(report.copy_sql, table, Path(directory))
        write_measured("xlsx", table_build(WARM_UP_CONTACTS), Path(directory))
        for number in range(1, runs + 1):
            copy = copy_measured(report.copy_sql)
            written = {
                format: write_measured(format, table_build(rows), Path(directory))
                for format in FORMATS
            }
            report.rounds.append(Round(copy, written["csv"], written["xlsx"]))
            print(
                f"round {number}/{runs}: COPY {copy.rate:,.0f} rows/s, CSV "
                f"{written['csv'].rate:,.0f} rows/s ({written['csv'].rate / copy.rate:.2f}x), "
                f"XLSX {written['xlsx'].rate:,.0f} rows/s "
                f"({written['xlsx'].rate / copy.rate:.2f}x)",
                flush=True,
            )
    for format in FORMATS:
        for size in report.sizes.memory_rows:
            figures = child_run(format, size, database=database)
            report.memory.append(figures)
            before, peak = figures["rss_before_kb"] / 1024, figures["peak_kb"] / 1024
            print(
                f"memory, {format} {size:,} rows: {figures['seconds']:.1f} s, RSS before "
                f"{before:.0f} MB, peak {peak:.0f} MB",
                flush=True,
            )


def table_build(rows: int):
    """The contacts tab of the connection holding `rows` contacts, as its viewer exports it."""
    from django.http import QueryDict

    from dashboard.accounts.models import User
    from dashboard.exports.sources import ExportScope, export_source_get
    from dashboard.tenants.models import Organization
    from integrations.threecx.models import ThreeCXConnection

    organization = Organization.objects.get(name=ORGANIZATION_NAME)
    connection = ThreeCXConnection.objects.get(
        organization=organization, name=_connection_name(rows)
    )
    scope = ExportScope(
        user=User.objects.get(email=VIEWER_EMAIL),
        organization=organization,
        params=QueryDict(""),
        kwargs={"kind": "contacts", "connection_id": str(connection.pk)},
    )
    return export_source_get("directory.entries").build(scope)


def write_measured(format: str, table, directory: Path) -> Pass:
    from dashboard.exports.writers import csv_write, xlsx_write

    write = csv_write if format == "csv" else xlsx_write
    path = directory / f"contacts.{format}"
    meter = CpuMeter()
    started = time.perf_counter()
    with path.open("wb") as out:
        rows = write(table, out)
    seconds = time.perf_counter() - started
    cpu_this, cpu_database = meter.spent()
    size = path.stat().st_size
    path.unlink()
    return Pass(rows, seconds, cpu_this, cpu_database, size)


def copy_measured(sql: str) -> Pass:
    """PostgreSQL's own CSV of the same rows, read through psycopg's copy API and dropped."""
    from django.db import connection as database

    database.ensure_connection()
    meter = CpuMeter()
    started = time.perf_counter()
    size = 0
    with database.connection.cursor() as cursor:
        with cursor.copy(sql) as copy:
            for data in copy:
                size += len(data)
        rows = cursor.rowcount
    seconds = time.perf_counter() - started
    cpu_this, cpu_database = meter.spent()
    return Pass(rows, seconds, cpu_this, cpu_database, size)


def copy_sql(headers: list[str], rows: int) -> str:
    """COPY of the export's columns over the tab's rows (visible contacts of the connection)
    in the tab's default order: by name, unnamed ones last by company (`entries_named_first`)."""
    from integrations.threecx.models import ThreeCXConnection

    unknown = [h for h in headers if h not in HEADER_COLUMNS]
    if unknown:
        raise SystemExit(f"No database column known for the export's headers {unknown}.")
    connection = ThreeCXConnection.objects.get(
        organization__name=ORGANIZATION_NAME, name=_connection_name(rows)
    )
    columns = ", ".join(HEADER_COLUMNS[h] for h in headers)
    return (
        f"COPY (SELECT {columns} FROM directory_directoryentry e "
        "JOIN directory_directorystate s ON s.connection_id = e.connection_id "
        "JOIN threecx_threecxconnection c ON c.id = e.connection_id "
        f"WHERE e.organization_id = '{connection.organization_id}' AND e.kind = 'contact' "
        f"AND e.connection_id = '{connection.pk}' AND e.generation_added <= s.generation "
        "AND (e.generation_removed IS NULL OR e.generation_removed > s.generation) "
        "ORDER BY e.name = '', e.name, e.company, e.id) TO STDOUT WITH CSV"
    )


def same_rows_check(sql: str, table, directory: Path) -> str:
    """Whether COPY and the product's CSV hold the same rows in the same order (the product's
    cells may carry a leading ' against formulas; compared without it)."""
    from django.db import connection as database

    from dashboard.exports.writers import csv_write

    path = directory / "check.csv"
    with path.open("wb") as out:
        csv_write(table, out)
    with path.open(encoding="utf-8-sig", newline="") as text:
        product = list(csv.reader(text))[1:]
    path.unlink()
    buffer = io.BytesIO()
    with database.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for data in copy:
            buffer.write(data)
    copied = list(csv.reader(io.StringIO(buffer.getvalue().decode(), newline="")))
    differing = sum(
        1
        for ours, theirs in zip(product, copied, strict=False)
        if [cell.removeprefix("'") for cell in ours] != [c.removeprefix("'") for c in theirs]
    )
    if len(product) != len(copied) or differing:
        raise SystemExit(
            f"COPY and the product's CSV differ: {len(copied):,} and {len(product):,} rows, "
            f"{differing:,} rows not equal. Fix the benchmark's COPY before comparing speeds."
        )
    return f"{len(product):,} rows, cell for cell equal in the same order"


class CpuMeter:
    """CPU seconds of this process and of its PostgreSQL backends, between creation and
    `spent()` (both on this machine, from /proc): the backend of Django's connection, and
    that of every connection opened meanwhile (an export reads on one of its own), read just
    before it closes."""

    def __init__(self) -> None:
        from django.db.backends.signals import connection_created

        self.database_pid = _backend_pid()
        self.closed_backends = 0.0
        connection_created.connect(self._opened)
        self.start = self._now()

    def spent(self) -> tuple[float, float]:
        from django.db.backends.signals import connection_created

        now = self._now()
        connection_created.disconnect(self._opened)
        return now[0] - self.start[0], now[1] - self.start[1] + self.closed_backends

    def _now(self) -> tuple[float, float]:
        return time.process_time(), _process_cpu(self.database_pid)

    def _opened(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        pid = connection.connection.info.backend_pid
        started = _process_cpu(pid)
        close = connection.close

        def closed() -> None:
            # The backend exits with its connection, and its figures with it.
            self.closed_backends += _process_cpu(pid) - started
            close()

        connection.close = closed


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_pid() -> int:
    from django.db import connection as database

    with database.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


# --- memory, in fresh processes ----------------------------------------------------------------


def child_run(format: str, rows: int, *, database: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        f"--database={database}",
        f"--child={format}",
        f"--rows={rows}",
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=os.environ
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures.update(format=format, size=rows)
    return figures


def child_export(format: str, rows: int) -> dict[str, Any]:
    """In the child: write a small export first, as a worker has, then the measured one."""
    from dashboard.exports.writers import csv_write, xlsx_write

    write = csv_write if format == "csv" else xlsx_write
    with tempfile.TemporaryDirectory(prefix="export-bench-") as directory:
        path = Path(directory) / f"contacts.{format}"
        with path.open("wb") as out:
            write(table_build(WARM_UP_CONTACTS), out)
        table = table_build(rows)
        gc.collect()
        reset = _peak_rss_reset()
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        with path.open("wb") as out:
            written = write(table, out)
        seconds = time.perf_counter() - started
        peak = _status_kb("VmHWM")
        size = path.stat().st_size
    return {
        "rows": written,
        "seconds": seconds,
        "rss_before_kb": before,
        "peak_kb": peak,
        "peak_reset": reset,
        "bytes": size,
    }


def _peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- set-up --------------------------------------------------------------------------------


def _environment_prepare(*, database: str, create: bool, migrate: bool) -> None:
    """Point Django at the benchmark database (created and migrated) and set it up."""
    sys.path.insert(0, str(ROOT))
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        server = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(server)
    if create:
        import psycopg

        maintenance = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {database}")
    os.environ.update(
        DATABASE_URL=urlunsplit(parts._replace(path=f"/{database}")),
        THREECX_ALLOW_HTTP="true",
        THREECX_ALLOWED_ADDRESSES="127.0.0.1",
        DJANGO_DEBUG="true",
        DJANGO_SETTINGS_MODULE="dashboard.settings",
    )
    os.environ.setdefault("DASHBOARD_VAR_DIR", tempfile.mkdtemp(prefix="export-bench-"))
    import django

    django.setup()
    from django.conf import settings

    # A worker runs with DEBUG off; DEBUG's query log would keep every statement's text.
    settings.DEBUG = False
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def contacts_seed(sizes: Sizes) -> float:
    """One organisation, its viewer, and a connection per size with that many contacts
    (kept as they are when a previous run with --keepdb made them); seconds it took."""
    from django.db import connection as database

    from dashboard.accounts.models import User
    from dashboard.directory.models import DirectoryState, EntryKind
    from dashboard.tenants.models import Membership, Organization, Role
    from integrations.threecx.models import ThreeCXConnection
    from integrations.threecx.services import connection_save

    started = time.perf_counter()
    organization, _ = Organization.objects.get_or_create(name=ORGANIZATION_NAME)
    viewer = User.objects.filter(email=VIEWER_EMAIL).first()
    if viewer is None:
        viewer = User.objects.create_user(email=VIEWER_EMAIL, password=None)
    Membership.objects.get_or_create(
        organization=organization, user=viewer, defaults={"role": Role.VIEWER}
    )
    missing = []
    for rows in sizes.connections:
        name = _connection_name(rows)
        connection = ThreeCXConnection.objects.filter(organization=organization, name=name).first()
        if connection is not None and connection.directory_state.counts.get("contact") == rows:
            continue
        if connection is not None:
            connection.delete()
        connection = connection_save(
            connection=ThreeCXConnection(
                organization=organization,
                name=name,
                base_url="http://127.0.0.1:9",  # never called
                client_id="export-bench",
            ),
            client_secret="not-used-by-the-benchmark",
        )
        missing.append((rows, connection))
    if not missing:
        return 0.0
    _pool_load()
    with _indexes_dropped("directory_directoryentry"), database.cursor() as cursor:
        for rows, connection in missing:
            cursor.execute(_INSERT_CONTACTS, [organization.pk, connection.pk, rows])
            DirectoryState.objects.update_or_create(
                connection=connection,
                defaults={"generation": 1, "counts": {EntryKind.CONTACT: rows}},
            )
            print(f"{rows:,} contacts inserted ({time.perf_counter() - started:.0f} s)", flush=True)
    with database.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE directory_directoryentry")
    return time.perf_counter() - started


@contextmanager
def _indexes_dropped(table: str) -> Iterator[None]:
    """The table's indexes that back no constraint, dropped while it is filled and made again
    after (building the two trigram indexes at once is minutes faster than row by row)."""
    from django.db import connection as database

    with database.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT "
            "IN (SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with database.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")


def _connection_name(rows: int) -> str:
    return f"{rows:,} contacts"


# Row g takes pool row (g - 1) % POOL_SIZE; from the second cycle on, its e-mail address gets
# the cycle's number before the "@" and its numbers' digits are rotated by it, so that a
# million rows are not a few thousand texts repeated (distinct texts cost a writer more).
_INSERT_CONTACTS = f"""
INSERT INTO directory_directoryentry (
    organization_id, connection_id, kind, external_id, generation_added, generation_removed,
    number, name, first_name, last_name, email, mobile, phone, company, department,
    entry_type, data, content_hash
)
SELECT %s, %s, 'contact', g, 1, NULL,
    '', p.name, p.first_name, p.last_name,
    CASE WHEN cycle.c = 0 OR p.email = '' THEN p.email
         ELSE regexp_replace(p.email, '@', '.' || cycle.c || '@') END,
    CASE WHEN cycle.c = 0 THEN p.mobile ELSE translate(p.mobile, '0123456789', r.digits) END,
    CASE WHEN cycle.c = 0 THEN p.phone ELSE translate(p.phone, '0123456789', r.digits) END,
    p.company, p.department, p.entry_type,
    jsonb_set(p.data, '{{Id}}', to_jsonb(g)), p.content_hash
FROM generate_series(1, %s) AS g,
    LATERAL (SELECT (g - 1) / {POOL_SIZE} AS c) AS cycle,
    LATERAL (SELECT substr('01234567890123456789', mod(cycle.c, 10) + 1, 10) AS digits) AS r,
    export_bench_pool p
WHERE p.i = mod(g - 1, {POOL_SIZE})
"""


def _pool_load() -> None:
    """The simulator's first POOL_SIZE contacts, normalised as a sync stores them, in a
    temporary table the inserts read."""
    from django.db import connection as database

    from dashboard.directory.models import EntryKind
    from dashboard.directory.sources import SOURCES, canonical_json, content_hash, without_secrets
    from integrations.threecx.simulator.data import ContactFactory

    source = next(s for s in SOURCES if s.kind == EntryKind.CONTACT)
    factory = ContactFactory(11)
    columns = (
        "name",
        "first_name",
        "last_name",
        "email",
        "mobile",
        "phone",
        "company",
        "department",
        "entry_type",
    )
    database.ensure_connection()
    raw = database.connection
    with raw.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS export_bench_pool (i integer PRIMARY KEY, "
            + ", ".join(f"{c} text" for c in columns)
            + ", data jsonb, content_hash text)"
        )
        cursor.execute("TRUNCATE export_bench_pool")
        with cursor.copy(
            f"COPY export_bench_pool (i, {', '.join(columns)}, data, content_hash) FROM STDIN"
        ) as copy:
            for index in range(POOL_SIZE):
                data = without_secrets(source.entity_set, factory.make(index))
                normalized = source.normalize(data).columns
                copy.write_row(
                    (
                        index,
                        *(normalized[c] for c in columns),
                        canonical_json(data),
                        content_hash(data),
                    )
                )
        cursor.execute("ANALYZE export_bench_pool")


# --- the report ----------------------------------------------------------------------------------


def report_markdown(report: Report, *, quick: bool) -> str:
    from django.db import connection as database

    rounds = report.rounds
    rows = report.sizes.speed_rows

    def median(value: Callable[[Round], float]) -> float:
        return statistics.median(value(r) for r in rounds)

    def speed_row(name: str, which: str, target: str) -> str:
        rate = median(lambda r: getattr(r, which).rate)
        ratio = median(lambda r: getattr(r, which).rate / r.copy.rate)
        cpu_ratio = median(lambda r: r.copy.cpu / getattr(r, which).cpu)
        seconds = median(lambda r: getattr(r, which).seconds)
        size = getattr(rounds[-1], which).size
        return (
            f"| {name} | {seconds:.2f} s | {rate:,.0f} | {ratio:.2f}x | {cpu_ratio:.2f}x | "
            f"{size / 1e6:.1f} MB | {target} |"
        )

    def cpu_row(name: str, which: str) -> str:
        return (
            f"| {name} | {median(lambda r: getattr(r, which).seconds):.2f} | "
            f"{median(lambda r: getattr(r, which).cpu_this):.2f} | "
            f"{median(lambda r: getattr(r, which).cpu_database):.2f} |"
        )

    csv_ratio = median(lambda r: r.csv.rate / r.copy.rate)
    lines = [
        MARK_BEGIN,
        "### Latest run",
        "",
        f"`bench/export_bench.py{' --quick' if quick else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {len(rounds)} round{_s(len(rounds))} of "
        f"(COPY, CSV, XLSX) over the {rows:,} contacts of one connection, as its viewer with "
        "no search or filter; medians, and each writer against the COPY of its round. "
        f"{os.cpu_count()} CPUs shared by this process, PostgreSQL {database.pg_version // 10000} "
        f"and whatever else ran (load average {os.getloadavg()[0]:.1f} at the end); Python "
        f"{platform.python_version()}; the whole run took {report.total_seconds / 60:.1f} min "
        f"({report.seed_seconds:.0f} s of it filling the database).",
        "",
        f"Columns: {', '.join(report.headers)}. Checked before timing: COPY and the product's "
        f"CSV hold {report.checked}.",
        "",
        "| | seconds | rows/s | against COPY | against COPY, by CPU seconds | output | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        speed_row("`COPY (SELECT ...) TO STDOUT WITH CSV`, bytes dropped", "copy", ""),
        speed_row(
            "CSV (`csv_write`, to a file)",
            "csv",
            f"at least {TARGET_COPY_RATIO}x COPY: {_verdict_at_least(csv_ratio)}",
        ),
        speed_row("XLSX (`xlsx_write`, to a file)", "xlsx", "reported"),
        "",
        "Rounds, rows/s (COPY / CSV / XLSX): "
        + "; ".join(f"{r.copy.rate:,.0f} / {r.csv.rate:,.0f} / {r.xlsx.rate:,.0f}" for r in rounds)
        + ".",
        "",
        'CPU seconds (medians) while each ran; "by CPU seconds" above divides COPY\'s CPU '
        "seconds (this process and its backends) by the writer's, which a busy machine stretches "
        "less than it stretches wall time:",
        "",
        "| | wall | this process | PostgreSQL backends |",
        "| --- | ---: | ---: | ---: |",
        cpu_row("COPY", "copy"),
        cpu_row("CSV", "csv"),
        cpu_row("XLSX", "xlsx"),
        "",
        *_memory_lines(report),
        MARK_END,
    ]
    return "\n".join(lines)


def _memory_lines(report: Report) -> list[str]:
    reset = all(m["peak_reset"] for m in report.memory)
    lines = [
        "Memory: each export in a fresh process that has loaded Django and written a "
        f"{WARM_UP_CONTACTS}-contact export of the same format. `peak` is the resident "
        "high-water mark (VmHWM: Python objects, libpq's result buffers, zlib's and the XML "
        "writer's alike, which tracemalloc would not see), "
        + (
            "reset just before the export (/proc/self/clear_refs); `growth` is the peak less "
            "the RSS just before."
            if reset
            else "not reset (no /proc/self/clear_refs here): the warm-up may hide the peak."
        ),
        "",
        "| format | rows | seconds | rows/s | file | RSS before | peak | growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in report.memory:
        lines.append(
            f"| {m['format'].upper()} | {m['rows']:,} | {m['seconds']:.1f} | "
            f"{m['rows'] / m['seconds']:,.0f} | {m['bytes'] / 1e6:.1f} MB | "
            f"{m['rss_before_kb'] / 1024:.1f} MB | {m['peak_kb'] / 1024:.1f} MB | "
            f"{(m['peak_kb'] - m['rss_before_kb']) / 1024:+.1f} MB |"
        )
    lines.append("")
    for format in FORMATS:
        by_size = {m["size"]: m for m in report.memory if m["format"] == format}
        small, large = min(by_size), max(by_size)
        growth = by_size[large]["peak_kb"] / by_size[small]["peak_kb"] - 1
        extra = (by_size[large]["peak_kb"] - by_size[small]["peak_kb"]) / 1024
        small_own, large_own = (
            (by_size[n]["peak_kb"] - by_size[n]["rss_before_kb"]) / 1024 for n in (small, large)
        )
        lines.append(
            f"{format.upper()}: peak {growth:+.1%} ({extra:+.1f} MB) from {small:,} to "
            f"{large:,} rows; target within {TARGET_MEMORY_GROWTH:.0%}: "
            f"{'met' if abs(growth) <= TARGET_MEMORY_GROWTH else 'missed'}. What the export "
            f"itself added went from {small_own:+.1f} to {large_own:+.1f} MB."
        )
    return lines


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _verdict_at_least(ratio: float) -> str:
    if ratio >= TARGET_COPY_RATIO:
        return "met"
    return f"missed by {1 - ratio / TARGET_COPY_RATIO:.0%}"


def docs_write(path: Path, block: str) -> None:
    """Replace this benchmark's block in the document, or add it at the end."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
