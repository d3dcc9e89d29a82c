"""Audit benchmark: a full rule pass over one large connection, against its first sync.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dash_bench .venv/bin/python bench/audit_bench.py
    options: --runs N (3)  --quick (small sizes)  --keepdb  --no-write  --output PATH
             --database NAME (bench_audit)

Needs PostgreSQL (DATABASE_URL's server if it is a postgres:// URL, else 127.0.0.1:5432 as
postgres). The script drops, creates and migrates a database of its own (bench_audit, or
--database NAME; --keepdb only migrates it), starts `manage.py threecx_simulator` as a
subprocess on a free port with 2,000 users, 100,000 contacts and the sets the audit reads,
and writes its figures into docs/BENCHMARKS.md between the audit-bench markers.

Each round, on a new installation's tables (directory and reports tables emptied):
- first sync: `sync_run_execute` in this process, over loopback HTTP from the simulator (the
  baseline the targets are relative to: the same connection's first-sync time, same run).
  Like every sync, it has the phone numbers it writes judged meanwhile, by a helper process
  once there are many (`dashboard.reports.phones.PhoneVerdictJudge`), whose CPU time is
  reported apart;
- cold audit: `audit_run_execute` on a fresh run, the connection's first: no findings yet
  (every finding opened), the numbers judged by the sync;
- warm audit: the same again right after, nothing changed (findings refreshed).
Statements of each audit are counted and timed with a connection.execute_wrapper; the slowest
are listed, so that a rule that got slow is easy to find.
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "bench_audit"
MARK_BEGIN = "<!-- audit-bench:begin (written by bench/audit_bench.py; edits here are lost) -->"
MARK_END = "<!-- audit-bench:end -->"
EMPTIED_TABLES = (
    "reports_finding",
    "reports_findingsnapshot",
    "reports_auditstate",
    "reports_phonenumberverdict",
    "reports_auditrun",
    "directory_directoryentry",
    "directory_directoryrelation",
    "directory_syncchange",
    "directory_directorystate",
)
TARGET_SECONDS = 2.0
TARGET_RATIO = 0.20


@dataclass(frozen=True)
class Sizes:
    users: int
    contacts: int
    groups: int
    queues: int
    ring_groups: int
    receptionists: int
    trunks: int

    def describe(self) -> str:
        return (
            f"{self.users:,} users, {self.contacts:,} contacts, {self.groups:,} groups, "
            f"{self.queues} queues, {self.ring_groups} ring groups, {self.receptionists} IVRs, "
            f"{self.trunks} trunks"
        )


FULL = Sizes(2_000, 100_000, 300, 99, 99, 50, 10)
QUICK = Sizes(200, 10_000, 30, 20, 20, 10, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--runs", type=int, default=3, help="rounds (medians are reported)")
    parser.add_argument("--keepdb", action="store_true", help="reuse the benchmark database")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the docs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="the database to drop, create and use"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    _environment_prepare(create=not args.keepdb, database=args.database)
    report = benchmark(sizes, runs=args.runs)
    report.total_seconds = time.monotonic() - started
    text = report_markdown(report, quick=args.quick)
    print(text)
    if not args.no_write:
        docs_write(args.output, text)
        print(f"Written to {args.output}")


# --- the measurements --------------------------------------------------------------------------


@dataclass
class Pass:
    seconds: float
    cpu_this: float
    cpu_database: float
    status: str
    #: CPU seconds of the helper processes that ended meanwhile (the sync's number judge).
    cpu_helpers: float = 0.0
    queries: int = 0
    sql_seconds: float = 0.0
    #: (milliseconds, first 160 characters of the statement), slowest first.
    slowest: list[tuple[float, str]] = field(default_factory=list)
    opened: int = 0
    refreshed: int = 0
    resolved: int = 0
    rules_run: int = 0
    rules_skipped: list = field(default_factory=list)
    #: Seconds per rule (its evaluation, queries and parsing included) and per recording step.
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class Round:
    sync: Pass
    cold: Pass
    warm: Pass
    entries: dict[str, int]
    verdicts: int


@dataclass
class Report:
    sizes: Sizes
    simulator_flags: list[str]
    rounds: list[Round] = field(default_factory=list)
    total_seconds: float = 0.0


def benchmark(sizes: Sizes, *, runs: int) -> Report:
    with simulator_running(sizes) as (base_url, flags):
        connection = connection_make(base_url)
        report = Report(sizes, flags)
        for number in range(1, runs + 1):
            tables_empty()
            sync = sync_measured(connection)
            cold = audit_measured(connection)
            warm = audit_measured(connection)
            report.rounds.append(
                Round(sync, cold, warm, entries=_entry_counts(connection), verdicts=_verdicts())
            )
            print(
                f"round {number}/{runs}: first sync {sync.seconds:.2f} s ({sync.status}), "
                f"cold audit {cold.seconds:.2f} s ({cold.status}, {cold.opened} opened, "
                f"{cold.queries} queries), warm audit {warm.seconds:.2f} s ({warm.status}, "
                f"{warm.refreshed} refreshed)",
                flush=True,
            )
    return report


def sync_measured(connection) -> Pass:
    from dashboard.directory.models import SyncRun
    from dashboard.directory.sync import sync_run_execute

    run = SyncRun.objects.create(organization_id=connection.organization_id, connection=connection)
    meter = CpuMeter()
    started = time.perf_counter()
    run = sync_run_execute(run_id=run.pk, worker="bench")
    seconds = time.perf_counter() - started
    cpu_this, cpu_database, cpu_helpers = meter.spent()
    return Pass(seconds, cpu_this, cpu_database, status=_status(run), cpu_helpers=cpu_helpers)


def audit_measured(connection) -> Pass:
    """One rule pass in this process on a fresh run (or the one the sync may have queued)."""
    from django.db import connection as database

    from dashboard.reports.models import AuditRun
    from dashboard.reports.services import audit_run_execute

    run = AuditRun.objects.filter(connection=connection, status=AuditRun.Status.QUEUED).first()
    if run is None:
        run = AuditRun.objects.create(
            organization_id=connection.organization_id,
            connection=connection,
            trigger=AuditRun.Trigger.MANUAL,
        )
    timer = _StatementTimer()
    _phase_timers_install()
    PHASES.clear()
    meter = CpuMeter()
    with database.execute_wrapper(timer):
        started = time.perf_counter()
        run = audit_run_execute(run_id=run.pk, worker="bench")
        seconds = time.perf_counter() - started
    cpu_this, cpu_database, cpu_helpers = meter.spent()
    return Pass(
        seconds,
        cpu_this,
        cpu_database,
        status=_status(run),
        cpu_helpers=cpu_helpers,
        queries=timer.queries,
        sql_seconds=sum(ms for ms, _ in timer.times) / 1000,
        slowest=timer.slowest(5),
        opened=run.opened,
        refreshed=run.refreshed,
        resolved=run.resolved,
        rules_run=len(run.rules_run or []),
        rules_skipped=list(run.rules_skipped or []),
        phases=dict(PHASES),
    )


#: Seconds spent per rule and per recording step in the pass being measured.
PHASES: dict[str, float] = {}


def _phase_timers_install() -> None:
    """Time each rule's evaluation and the engine's recording steps (once per process).

    Rules are frozen dataclasses whose `evaluate` the engine iterates in place; the wrapper
    times that iteration, which is the rule's own work (queries, parsing, hits)."""
    from dashboard.reports import engine
    from dashboard.reports.rules import RULES

    if getattr(engine, "_bench_timed", False):
        return
    for rule in RULES:
        object.__setattr__(rule, "evaluate", _timed_rule(rule.id, rule.evaluate))
    for name in ("_findings_record", "audit_state_refresh"):
        setattr(engine, name, _timed_call(f"({name})", getattr(engine, name)))
    engine._bench_timed = True


def _timed_rule(name: str, evaluate):
    def timed(ctx):
        started = time.perf_counter()
        try:
            yield from evaluate(ctx)
        finally:
            PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - started

    return timed


def _timed_call(name: str, function):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - started

    return timed


class _StatementTimer:
    def __init__(self) -> None:
        self.queries = 0
        self.times: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.times.append(((time.perf_counter() - started) * 1000, " ".join(sql.split())))

    def slowest(self, count: int) -> list[tuple[float, str]]:
        return [(ms, sql[:160]) for ms, sql in sorted(self.times, reverse=True)[:count]]


class CpuMeter:
    """CPU seconds of this process, of its PostgreSQL backend and of the child processes
    that ended (and were waited for) meanwhile, between creation and `spent()` (all on this
    machine; the backend's from /proc)."""

    def __init__(self) -> None:
        self.database_pid = _backend_pid()
        self.start = self._now()

    def spent(self) -> tuple[float, float, float]:
        now = self._now()
        return now[0] - self.start[0], now[1] - self.start[1], now[2] - self.start[2]

    def _now(self) -> tuple[float, float, float]:
        children = os.times()
        return (
            time.process_time(),
            _process_cpu(self.database_pid),
            children.children_user + children.children_system,
        )


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


def _status(run) -> str:
    return run.status + (f": {run.error}" if run.error else "")


def _entry_counts(connection) -> dict[str, int]:
    from django.db.models import Count

    from dashboard.directory.models import DirectoryEntry

    rows = (
        DirectoryEntry.objects.visible()
        .filter(connection=connection)
        .values_list("kind")
        .annotate(count=Count("id"))
    )
    return dict(sorted(rows))


def _verdicts() -> int:
    from dashboard.reports.models import PhoneNumberVerdict

    return PhoneNumberVerdict.objects.count()


# --- set-up --------------------------------------------------------------------------------


def _environment_prepare(*, create: bool, database: str = BENCH_DATABASE) -> None:
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
    # Tokens, and any task a sync sends, in files of the benchmark's own.
    os.environ.setdefault("DASHBOARD_VAR_DIR", tempfile.mkdtemp(prefix="audit-bench-"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # A worker runs with DEBUG off; DEBUG's query log would keep every statement's text.
    settings.DEBUG = False
    call_command("migrate", verbosity=0)


@contextmanager
def simulator_running(sizes: Sizes) -> Iterator[tuple[str, list[str]]]:
    """The standalone simulator on a free port; (its URL, the flags it was given)."""
    flags = [
        f"--users={sizes.users}",
        f"--contacts={sizes.contacts}",
        f"--groups={sizes.groups}",
        f"--queues={sizes.queues}",
        f"--ring-groups={sizes.ring_groups}",
        f"--receptionists={sizes.receptionists}",
        f"--trunks={sizes.trunks}",
        "--seed=1",
    ]
    command = [sys.executable, str(ROOT / "manage.py"), "threecx_simulator", "--port=0", *flags]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ
    )
    try:
        for line in process.stdout:
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                break
        else:
            raise RuntimeError(f"The simulator exited with {process.wait()} before it listened.")
        yield match.group(1), flags
    finally:
        process.terminate()
        process.wait(timeout=10)


def connection_make(base_url: str):
    from dashboard.tenants.models import Organization
    from integrations.threecx.models import ThreeCXConnection
    from integrations.threecx.services import connection_save

    organization, _ = Organization.objects.get_or_create(name="Benchmark")
    ThreeCXConnection.objects.filter(organization=organization).delete()
    connection = ThreeCXConnection(
        organization=organization, name="Audited PBX", base_url=base_url, client_id="900"
    )
    return connection_save(connection=connection, client_secret="simulator-secret")


def tables_empty() -> None:
    """A new installation's tables: no rows, no dead rows, no statistics."""
    from django.db import connection as database

    with database.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(EMPTIED_TABLES)}")


# --- the report ----------------------------------------------------------------------------------


def report_markdown(report: Report, *, quick: bool) -> str:
    from django.db import connection as database

    rounds = report.rounds
    sync = statistics.median(r.sync.seconds for r in rounds)
    cold = statistics.median(r.cold.seconds for r in rounds)
    warm = statistics.median(r.warm.seconds for r in rounds)
    cold_ratio = statistics.median(r.cold.seconds / r.sync.seconds for r in rounds)
    warm_ratio = statistics.median(r.warm.seconds / r.sync.seconds for r in rounds)
    last = rounds[-1]
    entries = ", ".join(f"{count:,} {kind}" for kind, count in last.entries.items())
    skipped = "; ".join(f"{s.get('rule')}: {s.get('reason')}" for s in last.cold.rules_skipped)

    def cpu(name: str, which: str) -> str:
        passes = [getattr(r, which) for r in rounds]
        return (
            f"| {name} | {statistics.median(p.seconds for p in passes):.2f} | "
            f"{statistics.median(p.cpu_this for p in passes):.2f} | "
            f"{statistics.median(p.cpu_helpers for p in passes):.2f} | "
            f"{statistics.median(p.cpu_database for p in passes):.2f} |"
        )

    lines = [
        MARK_BEGIN,
        "### Latest run",
        "",
        f"`bench/audit_bench.py{' --quick' if quick else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {len(rounds)} round{_s(len(rounds))} of (first "
        "sync, cold audit, warm audit) on emptied tables; medians, and each audit against the "
        f"first sync of the same round. {os.cpu_count()} CPUs shared by this process, the "
        f"simulator, PostgreSQL {database.pg_version // 10000} and whatever else ran (load average "
        f"{os.getloadavg()[0]:.1f} at the end); Python {platform.python_version()}; the whole "
        f"run took {report.total_seconds / 60:.1f} min.",
        "",
        f"Standalone simulator over loopback HTTP ({' '.join(report.simulator_flags)}); the "
        f"synced directory held {entries}; {last.verdicts:,} distinct phone-number texts got a "
        "verdict.",
        "",
        "| | median | against the first sync | target |",
        "| --- | ---: | ---: | --- |",
        f"| first sync (the baseline) | {sync:.2f} s | 1.00 | |",
        f"| cold audit (the first: findings opened) | {cold:.2f} s | {cold_ratio:.1%} | "
        f"at most {TARGET_SECONDS:g} s: {_verdict(cold, TARGET_SECONDS)}; under "
        f"{TARGET_RATIO:.0%}: {_verdict(cold_ratio, TARGET_RATIO)} |",
        f"| warm audit (nothing changed) | {warm:.2f} s | {warm_ratio:.1%} | "
        f"at most {TARGET_SECONDS:g} s: {_verdict(warm, TARGET_SECONDS)}; under "
        f"{TARGET_RATIO:.0%}: {_verdict(warm_ratio, TARGET_RATIO)} |",
        "",
        "Rounds, seconds (first sync / cold audit / warm audit): "
        + "; ".join(
            f"{r.sync.seconds:.2f} / {r.cold.seconds:.2f} / {r.warm.seconds:.2f}" for r in rounds
        )
        + ".",
        "",
        "CPU seconds (medians) while each ran (helper processes: the sync's phone-number judge):",
        "",
        "| | wall | this process | its helper processes | PostgreSQL backend |",
        "| --- | ---: | ---: | ---: | ---: |",
        cpu("first sync", "sync"),
        cpu("cold audit", "cold"),
        cpu("warm audit", "warm"),
        "",
        f"Last round: the cold audit ran {last.cold.rules_run} rules in {last.cold.queries} "
        f"statements ({last.cold.sql_seconds:.2f} s waiting for them) and opened "
        f"{last.cold.opened:,} findings; the warm one ran {last.warm.rules_run} in "
        f"{last.warm.queries} statements ({last.warm.sql_seconds:.2f} s), refreshed "
        f"{last.warm.refreshed:,}, opened {last.warm.opened:,} and resolved "
        f"{last.warm.resolved:,}. Rules skipped: {skipped or 'none'}.",
        "",
        "Where a pass goes (medians over the rounds, seconds; the rules' evaluation includes "
        "their queries and the parsing of new numbers, the steps in brackets record findings "
        "and the audit state):",
        "",
        "| | cold | warm |",
        "| --- | ---: | ---: |",
        *_phase_rows(rounds),
        "",
        "Slowest statements of the last cold audit (ms):",
        "",
        *(f"- {ms:.0f} ms: `{sql}`" for ms, sql in last.cold.slowest),
        "",
        "Slowest statements of the last warm audit (ms):",
        "",
        *(f"- {ms:.0f} ms: `{sql}`" for ms, sql in last.warm.slowest),
        MARK_END,
    ]
    return "\n".join(lines)


def _phase_rows(rounds: list[Round], shown: int = 10) -> list[str]:
    """The `shown` costliest phases of a cold pass, and what the rest add up to."""
    names = {name for r in rounds for name in (*r.cold.phases, *r.warm.phases)}

    def median(which: str, name: str) -> float:
        return statistics.median(getattr(r, which).phases.get(name, 0.0) for r in rounds)

    ordered = sorted(names, key=lambda name: -median("cold", name))
    rows = [
        f"| {name} | {median('cold', name):.2f} | {median('warm', name):.2f} |"
        for name in ordered[:shown]
    ]
    rest = ordered[shown:]
    if rest:
        cold = sum(median("cold", name) for name in rest)
        warm = sum(median("warm", name) for name in rest)
        rows.append(f"| the other {len(rest)} | {cold:.2f} | {warm:.2f} |")
    return rows


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else f"missed by {value / target - 1:.0%}"


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
