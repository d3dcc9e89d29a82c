"""Directory sync benchmark: the sync against a bare `requests` download of the same pages.

    .venv/bin/python bench/sync_bench.py            # full sizes, 3 rounds, ~7 minutes
    .venv/bin/python bench/sync_bench.py --quick    # small sizes, about a minute
    options: --runs N  --latency MS  --keepdb  --no-write  --output PATH

Needs PostgreSQL (127.0.0.1:5432, user postgres, trust auth; DATABASE_URL's server if that is
a postgres:// URL). The script drops, creates and migrates its own database (dashboard_bench;
--keepdb only migrates it), starts `manage.py threecx_simulator` as a subprocess on a free
port, and writes its figures into docs/BENCHMARKS.md between the sync-bench markers.

What it measures, each repeated --runs times (medians; the machine is shared and noisy):
- bare: a `requests` loop fetching every collection the sync reads, with the sync's page
  size, $select, $expand and $orderby (from the same `SOURCES` and `client._safe_select`),
  parsing each page, with a token fetched once;
- first: `sync_run_execute` on a fresh SyncRun in this process, the directory tables emptied
  first (TRUNCATE, as on a new installation);
- second: the same again right after, nothing changed on the server; statements writing the
  directory tables are counted with a connection.execute_wrapper;
- queries per page: queries between one page's arrival and the next's, for both syncs;
- latency: bare download and second sync again with every page answered --latency ms later
  (default 20), as from a PBX across a WAN rather than on loopback;
- memory: peak RSS (ru_maxrss) of a fresh process running one sync, for 20,000 and 200,000
  contacts (all else equal), first sync and second sync each in its own process.
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "dashboard_bench"
MARK_BEGIN = "<!-- sync-bench:begin (written by bench/sync_bench.py; edits here are lost) -->"
MARK_END = "<!-- sync-bench:end -->"
DIRECTORY_TABLES = (
    "directory_directoryentry",
    "directory_directoryrelation",
    "directory_syncchange",
)
BOOKKEEPING_TABLES = ("directory_directorystate", "directory_syncrun")
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
#: The simulator makes at most 99 queues, ring groups and receptionists; the rest are added
#: through its control API, copies of the generated ones with the same members.
SIMULATOR_MAX_ROUTING = 99


@dataclass(frozen=True)
class Sizes:
    users: int
    contacts: int
    groups: int
    queues: int
    ring_groups: int
    memory_contacts: tuple[int, int]

    def describe(self) -> str:
        return (
            f"{self.users:,} users, {self.contacts:,} contacts, "
            f"{self.groups:,} groups, {self.queues:,} queues, {self.ring_groups:,} ring groups"
        )


FULL = Sizes(2_000, 100_000, 300, 300, 300, memory_contacts=(20_000, 200_000))
QUICK = Sizes(200, 10_000, 30, 30, 30, memory_contacts=(2_000, 20_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--runs", type=int, default=3, help="rounds of each measurement")
    parser.add_argument(
        "--latency",
        type=float,
        default=20,
        metavar="MS",
        help="also time the second sync with every page MS later, as from a remote PBX (0: no)",
    )
    parser.add_argument("--keepdb", action="store_true", help="reuse the benchmark database")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the docs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--child", choices=["first", "second"], help=argparse.SUPPRESS)
    parser.add_argument("--connection", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _environment_prepare(create=False, migrate=False)
        print(json.dumps(child_sync(args.child, args.connection)))
        return
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    _environment_prepare(create=not args.keepdb, migrate=True)
    report = benchmark(sizes, runs=args.runs, latency_ms=args.latency)
    report.total_seconds = time.monotonic() - started
    text = report.markdown(quick=args.quick)
    print(text)
    if not args.no_write:
        docs_write(args.output, text)
        print(f"Written to {args.output}")


# --- the measurements --------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds spent during a measurement, by process."""

    this: float = 0.0
    simulator: float = 0.0
    database: float = 0.0

    @property
    def total(self) -> float:
        return self.this + self.simulator + self.database


@dataclass
class Timed:
    seconds: float
    cpu: Cpu


@dataclass
class SyncFigures:
    seconds: float
    cpu: Cpu
    status: str
    added: int
    changed: int
    removed: int
    queries: int
    pages: int
    per_page: list[int]
    #: {table: [statements, rows]} for INSERT/UPDATE/DELETE statements.
    writes: dict[str, list[int]]


@dataclass
class Report:
    sizes: Sizes
    runs: int
    pages: int
    page_size: int
    bare: list[Timed] = field(default_factory=list)
    first: list[SyncFigures] = field(default_factory=list)
    second: list[SyncFigures] = field(default_factory=list)
    rounds: list[tuple[float, float, float, float]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    latency_rounds: list[tuple[Timed, SyncFigures]] = field(default_factory=list)
    total_seconds: float = 0.0

    def markdown(self, *, quick: bool) -> str:
        return report_markdown(self, quick=quick)


def benchmark(sizes: Sizes, *, runs: int, latency_ms: float) -> Report:
    from django.conf import settings

    with simulator_running(sizes, sizes.contacts) as simulator:
        connection = connection_make(simulator.base_url, name="Benchmark")
        bare_download(connection, simulator)  # warm-up: simulator, spec, HTTP, page cache
        report = Report(sizes, runs, pages=0, page_size=settings.THREECX_PAGE_SIZE)
        for round_number in range(1, runs + 1):
            bare_before, report.pages = bare_download(connection, simulator)
            directory_empty()
            first = sync_measured(connection, simulator)
            bare_after, _ = bare_download(connection, simulator)
            second = sync_measured(connection, simulator)
            report.bare += [bare_before, bare_after]
            report.first.append(first)
            report.second.append(second)
            report.rounds.append(
                (bare_before.seconds, first.seconds, bare_after.seconds, second.seconds)
            )
            print(
                f"round {round_number}/{runs}: bare {bare_before.seconds:.2f} s, first sync "
                f"{first.seconds:.2f} s ({first.status}), bare {bare_after.seconds:.2f} s, "
                f"second sync {second.seconds:.2f} s ({second.status})",
                flush=True,
            )
        if latency_ms:
            report.latency_ms = latency_ms
            latency_add(simulator, latency_ms / 1000)
            for round_number in range(1, runs + 1):
                bare, _ = bare_download(connection, simulator)
                second = sync_measured(connection, simulator)
                report.latency_rounds.append((bare, second))
                print(
                    f"{latency_ms:g} ms away, round {round_number}/{runs}: bare "
                    f"{bare.seconds:.2f} s, second sync {second.seconds:.2f} s ({second.status})",
                    flush=True,
                )
    for contacts in sizes.memory_contacts:
        with simulator_running(sizes, contacts) as simulator:
            connection = connection_make(simulator.base_url, name=f"Memory {contacts}")
            directory_empty()
            for kind in ("first", "second"):
                figures = child_run(kind, connection)
                figures["contacts"] = contacts
                report.memory.append(figures)
                print(
                    f"memory, {contacts:,} contacts, {kind} sync: peak RSS "
                    f"{figures['peak_rss_kb'] / 1024:.0f} MB ({figures['status']})",
                    flush=True,
                )
    return report


def bare_download(connection, simulator: "Simulator") -> tuple[Timed, int]:
    """Fetch every page the sync fetches with a bare requests loop; (time taken, pages)."""
    import requests

    from dashboard.directory.sources import SOURCES
    from integrations.threecx.client import ThreeCXClient
    from integrations.threecx.odata import Query

    client = ThreeCXClient.for_connection(connection)
    page_size = client.page_size
    session = requests.Session()
    token = session.post(
        f"{connection.base_url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": connection.client_id,
            "client_secret": connection.client_secret_get(),
        },
        timeout=30,
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    pages = 0
    meter = CpuMeter(simulator.pid)
    started = time.perf_counter()
    for source in SOURCES:
        query = Query(
            select=client._safe_select(source.entity_set, None),
            orderby="Id",
            expand=source.expand,
        ).params()
        skip = 0
        while True:
            params = {**query, "$top": str(page_size), "$skip": str(skip)}
            if skip == 0:
                params["$count"] = "true"
            response = session.get(
                f"{connection.base_url}/xapi/v1/{source.entity_set}", params=params, timeout=60
            )
            response.raise_for_status()
            items = response.json()["value"]
            pages += 1
            if len(items) < page_size:
                break
            skip += len(items)
    seconds = time.perf_counter() - started
    cpu = meter.spent()
    session.close()
    return Timed(seconds, cpu), pages


def sync_measured(connection, simulator: "Simulator") -> SyncFigures:
    """Run one sync in this process, counting its queries, page by page, and its writes."""
    from django.db import connection as database

    from dashboard.directory.models import SyncRun
    from dashboard.directory.sync import sync_run_execute

    counter = _QueryCounter()
    run = SyncRun.objects.create(organization_id=connection.organization_id, connection=connection)
    meter = CpuMeter(simulator.pid, database_pid=_backend_pid())
    with database.execute_wrapper(counter):
        started = time.perf_counter()
        run = sync_run_execute(run_id=run.pk, worker="bench", client_factory=_page_marking(counter))
        seconds, cpu = time.perf_counter() - started, meter.spent()
    return SyncFigures(
        seconds=seconds,
        cpu=cpu,
        status=run.status + (f": {run.error}" if run.error else ""),
        added=run.added,
        changed=run.changed,
        removed=run.removed,
        queries=counter.queries,
        pages=len(counter.page_marks),
        per_page=counter.per_page(),
        writes={table: list(counts) for table, counts in sorted(counter.writes.items())},
    )


class CpuMeter:
    """CPU time of this process, the simulator and this process's PostgreSQL backend (all on
    this machine), from /proc, between its creation and `spent()`."""

    def __init__(self, simulator_pid: int, database_pid: int | None = None) -> None:
        self.simulator_pid, self.database_pid = simulator_pid, database_pid
        self.start = self._now()

    def spent(self) -> Cpu:
        now = self._now()
        return Cpu(*(b - a for a, b in zip(self.start, now, strict=True)))

    def _now(self) -> tuple[float, float, float]:
        database = _process_cpu(self.database_pid) if self.database_pid else 0.0
        return time.process_time(), _process_cpu(self.simulator_pid), database


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_pid() -> int:
    from django.db import connection as database

    with database.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class _QueryCounter:
    """A connection.execute_wrapper counting statements, rows written per table, and the
    statement count at each page's arrival."""

    def __init__(self) -> None:
        self.queries = 0
        self.page_marks: list[int] = []
        self.writes: dict[str, list[int]] = {}

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self.queries += 1
        match = WRITE.match(sql)
        if match:
            counts = self.writes.setdefault(match.group(2), [0, 0])
            counts[0] += 1
            counts[1] += max(context["cursor"].rowcount, 0)
        return result

    def per_page(self) -> list[int]:
        """Statements issued between one page's arrival and the next's."""
        return [b - a for a, b in zip(self.page_marks, self.page_marks[1:], strict=False)]


def _page_marking(counter: _QueryCounter) -> Callable:
    """A client factory whose collections note the statement count as each page arrives."""
    from integrations.threecx.client import ThreeCXClient

    def factory(connection) -> ThreeCXClient:
        client = ThreeCXClient.for_connection(connection)
        collection = client.collection

        def marked(name: str, **options):
            paged = collection(name, **options)
            paged.on_page = lambda paged, items: counter.page_marks.append(counter.queries)
            return paged

        client.collection = marked
        return client

    return factory


def child_run(kind: str, connection) -> dict[str, Any]:
    """One sync in a fresh process; its figures, peak RSS included."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--connection", str(connection.pk)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures["kind"] = kind
    return figures


def child_sync(kind: str, connection_id: str) -> dict[str, Any]:
    """In the child: warm up as a worker would be, then run one sync and report."""
    import gc

    from dashboard.directory.models import SyncRun
    from dashboard.directory.sources import SOURCES
    from dashboard.directory.sync import sync_run_execute
    from integrations.threecx.client import ThreeCXClient
    from integrations.threecx.models import ThreeCXConnection

    connection = ThreeCXConnection.objects.get(pk=connection_id)
    client = ThreeCXClient.for_connection(connection)
    for source in SOURCES:  # loads the spec, as a worker's first sync has done before
        client._safe_select(source.entity_set, None)
    client.version()
    run = SyncRun.objects.create(organization_id=connection.organization_id, connection=connection)
    gc.collect()
    # Loading the spec peaks higher than a sync: start the high-water mark afresh (Linux).
    reset = _peak_rss_reset()
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    run = sync_run_execute(run_id=run.pk, worker="bench child")
    return {
        "seconds": time.perf_counter() - started,
        "status": run.status + (f": {run.error}" if run.error else ""),
        "rss_before_kb": before,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "peak_reset": reset,
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


def _environment_prepare(*, create: bool, migrate: bool) -> None:
    """Point Django at the benchmark database (created and migrated) and set it up."""
    sys.path.insert(0, str(ROOT))
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        server = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(server)
    database_url = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    if create:
        database_create(urlunsplit(parts._replace(path="/postgres")))
    os.environ.update(
        DATABASE_URL=database_url,
        THREECX_ALLOW_HTTP="true",
        THREECX_ALLOWED_ADDRESSES="127.0.0.1",
        DJANGO_DEBUG="true",
        DJANGO_SETTINGS_MODULE="dashboard.settings",
    )
    # Tokens in a file cache of the benchmark's own, not the development one.
    os.environ.setdefault("DASHBOARD_VAR_DIR", tempfile.mkdtemp(prefix="sync-bench-"))
    import django

    django.setup()
    from django.conf import settings

    # DJANGO_DEBUG=true only spares us secrets; workers run with DEBUG off, and DEBUG's query
    # log would keep the text of every statement, skewing both time and memory.
    settings.DEBUG = False
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def database_create(maintenance_url: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")


@dataclass(frozen=True)
class Simulator:
    base_url: str
    pid: int


@contextmanager
def simulator_running(sizes: Sizes, contacts: int) -> Iterator[Simulator]:
    """Start the standalone simulator on a free port, with `contacts` contacts."""
    command = [
        sys.executable,
        str(ROOT / "manage.py"),
        "threecx_simulator",
        "--port=0",
        f"--users={sizes.users}",
        f"--contacts={contacts}",
        f"--groups={sizes.groups}",
        f"--queues={min(sizes.queues, SIMULATOR_MAX_ROUTING)}",
        f"--ring-groups={min(sizes.ring_groups, SIMULATOR_MAX_ROUTING)}",
        "--seed=1",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ
    )
    try:
        base_url = _listening_url(process)
        _routing_top_up(base_url, "Queues", "Agents", sizes.queues)
        _routing_top_up(base_url, "RingGroups", "Members", sizes.ring_groups)
        yield Simulator(base_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening_url(process: subprocess.Popen) -> str:
    for line in process.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return match.group(1)
    raise RuntimeError(f"The simulator exited with {process.wait()} before it listened.")


def _routing_top_up(base_url: str, entity_set: str, members: str, wanted: int) -> None:
    """Add copies of the generated queues or ring groups until there are `wanted`."""
    import requests

    token = requests.post(
        f"{base_url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "900",
            "client_secret": "simulator-secret",
        },
        timeout=30,
    ).json()["access_token"]
    existing = requests.get(
        f"{base_url}/xapi/v1/{entity_set}",
        params={"$expand": members, "$select": "Id,Name"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["value"]
    for index in range(len(existing), wanted):
        model = existing[index % len(existing)]
        item = {
            "Name": f"{model['Name']} {index}",
            members: [{"Number": member["Number"]} for member in model[members]],
        }
        requests.post(
            f"{base_url}/_simulator/mutations",
            json={"op": "add", "set": entity_set, "item": item},
            timeout=30,
        ).raise_for_status()


def latency_add(simulator: Simulator, seconds: float) -> None:
    """Make every collection page answer `seconds` later, as a PBX across a WAN would."""
    import requests

    from dashboard.directory.sources import SOURCES

    collections = "|".join(source.entity_set for source in SOURCES)
    requests.post(
        f"{simulator.base_url}/_simulator/faults",
        json={"match": f"^/xapi/v1/({collections})$", "kind": "latency", "delay": seconds},
        timeout=30,
    ).raise_for_status()


def connection_make(base_url: str, *, name: str):
    from dashboard.tenants.models import Organization
    from integrations.threecx.models import ThreeCXConnection
    from integrations.threecx.services import connection_save

    organization, _ = Organization.objects.get_or_create(name="Benchmark")
    ThreeCXConnection.objects.filter(organization=organization, name=name).delete()
    connection = ThreeCXConnection(
        organization=organization, name=name, base_url=base_url, client_id="900"
    )
    return connection_save(connection=connection, client_secret="simulator-secret")


def directory_empty() -> None:
    """Empty the directory tables, as on a new installation (no dead rows, no statistics)."""
    from django.db import connection as database

    with database.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join((*DIRECTORY_TABLES, BOOKKEEPING_TABLES[0]))}")


# --- the report ----------------------------------------------------------------------------------


def report_markdown(report: Report, *, quick: bool) -> str:
    from django.db import connection as database

    bare = statistics.median(t.seconds for t in report.bare)
    first = statistics.median(f.seconds for f in report.first)
    second = statistics.median(f.seconds for f in report.second)
    first_ratio = statistics.median(f / b for b, f, _, _ in report.rounds)
    second_ratio = statistics.median(s / b for _, _, b, s in report.rounds)
    lines = [
        MARK_BEGIN,
        "### Latest run",
        "",
        f"`bench/sync_bench.py{' --quick' if quick else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {report.runs} rounds of (bare download, first "
        "sync, bare download, second sync); medians, and each sync against the bare download "
        f"just before it. {os.cpu_count()} CPUs shared by this process, the simulator, "
        f"PostgreSQL {database.pg_version // 10000} and whatever else ran (load average "
        f"{os.getloadavg()[0]:.1f} at the end); Python {platform.python_version()}; the whole "
        f"run took {report.total_seconds / 60:.1f} min.",
        "",
        f"Standalone simulator over loopback HTTP: {report.sizes.describe()}; "
        f"{report.pages} pages of {report.page_size}.",
        "",
        "| | median | runs | against the bare download | target |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| bare `requests` download | {bare:.2f} s | {len(report.bare)} | 1.00 | |",
        f"| first full sync | {first:.2f} s | {len(report.first)} | {first_ratio:.2f}x | "
        f"at most 1.5x: {_verdict(first_ratio, 1.5)} |",
        f"| second sync, nothing changed | {second:.2f} s | {len(report.second)} | "
        f"{second_ratio:.2f}x | at most 1.2x: {_verdict(second_ratio, 1.2)} |",
        "",
        "Rounds, seconds (bare / first / bare / second): "
        + "; ".join(" / ".join(f"{value:.2f}" for value in r) for r in report.rounds)
        + ".",
        "",
        _latency_line(report),
        "",
        "CPU seconds (medians) spent while each ran, by process: the sync's work is not only its "
        "own.",
        "",
        "| | wall | this process | simulator | PostgreSQL backend | all |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        _cpu_row("bare download", report.bare),
        _cpu_row("first sync", report.first),
        _cpu_row("second sync", report.second),
        "",
        _writes_line(report.second),
        "",
        "Queries (median run; a page's are those between its arrival and the next page's):",
        "",
        "| | first sync | second sync |",
        "| --- | ---: | ---: |",
        _queries_row("queries", report, lambda f: f.queries),
        _queries_row("pages", report, lambda f: f.pages),
        _queries_row("per page, median", report, lambda f: statistics.median(f.per_page or [0])),
        _queries_row("per page, most", report, lambda f: max(f.per_page or [0])),
        "",
        _memory_table(report),
        MARK_END,
    ]
    return "\n".join(lines)


def _latency_line(report: Report) -> str:
    if not report.latency_rounds:
        return "(No run with added latency: --latency 0.)"
    bare = statistics.median(b.seconds for b, _ in report.latency_rounds)
    second = statistics.median(s.seconds for _, s in report.latency_rounds)
    ratio = statistics.median(s.seconds / b.seconds for b, s in report.latency_rounds)
    return (
        f"With the PBX {report.latency_ms:g} ms away (the simulator answers each page that much "
        f"later; {len(report.latency_rounds)} rounds): bare download {bare:.2f} s, second sync "
        f"{second:.2f} s, {ratio:.2f}x (target 1.2x: {_verdict(ratio, 1.2)}); the sync fetches "
        "the next page while it writes the current one, which latency makes worth more."
    )


def _cpu_row(label: str, measured: list[Timed] | list[SyncFigures]) -> str:
    def median(value: Callable[[Cpu], float]) -> str:
        return f"{statistics.median(value(m.cpu) for m in measured):.1f}"

    wall = statistics.median(m.seconds for m in measured)
    return (
        f"| {label} | {wall:.1f} | {median(lambda c: c.this)} | {median(lambda c: c.simulator)} "
        f"| {median(lambda c: c.database)} | {median(lambda c: c.total)} |"
    )


def _verdict(ratio: float, target: float) -> str:
    if ratio <= target:
        return "met"
    return f"missed by {(ratio / target - 1) * 100:.0f}%"


def _writes_line(seconds: list[SyncFigures]) -> str:
    totals: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    for figures in seconds:
        for table, (count, rows) in figures.writes.items():
            statements[table] += count
            totals[table] += rows
    directory = ", ".join(f"{t} {totals[t]} rows" for t in DIRECTORY_TABLES)
    bookkeeping = ", ".join(
        f"{t} {statements[t] // len(seconds)} statements" for t in BOOKKEEPING_TABLES
    )
    changes = {(f.added, f.changed, f.removed) for f in seconds}
    return (
        f"Second sync, summed over its {len(seconds)} runs: INSERT/UPDATE/DELETE wrote "
        f"{directory}; (added, changed, removed) = {', '.join(map(str, changes))}. Its own "
        f"bookkeeping per run: {bookkeeping} (progress, heartbeat, the generation switch)."
    )


def _queries_row(label: str, report: Report, value: Callable[[SyncFigures], float]) -> str:
    def median(figures: list[SyncFigures]) -> str:
        return f"{statistics.median(value(f) for f in figures):g}"

    return f"| {label} | {median(report.first)} | {median(report.second)} |"


def _memory_table(report: Report) -> str:
    reset = all(m.get("peak_reset") for m in report.memory)
    lines = [
        "Memory: each sync in a fresh process that has loaded Django and the spec and made a "
        "first request, as a worker has. `peak` is ru_maxrss (the resident high-water mark: "
        "Python objects and what libpq and the JSON decoder allocate alike, which tracemalloc "
        "would miss), "
        + (
            "its mark reset just before the sync (/proc/self/clear_refs), since loading the "
            "spec peaks higher than a sync does."
            if reset
            else "not reset (no /proc/self/clear_refs here): warm-up may hide the sync's peak."
        ),
        "",
        "| contacts | sync | seconds | RSS before | peak during the sync |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for m in report.memory:
        lines.append(
            f"| {m['contacts']:,} | {m['kind']} | {m['seconds']:.1f} | "
            f"{m['rss_before_kb'] / 1024:.0f} MB | {m['peak_rss_kb'] / 1024:.0f} MB |"
        )
    small, large = report.sizes.memory_contacts
    lines.append("")
    for kind in ("first", "second"):
        by_size = {m["contacts"]: m for m in report.memory if m["kind"] == kind}
        if small in by_size and large in by_size:
            growth = by_size[large]["peak_rss_kb"] / by_size[small]["peak_rss_kb"] - 1
            lines.append(
                f"{kind.capitalize()} sync: peak {growth * 100:+.0f}% from {small:,} to "
                f"{large:,} contacts; target within 20%: {'met' if growth <= 0.2 else 'missed'}."
            )
    return "\n".join(lines)


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
