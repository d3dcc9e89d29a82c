"""Provider roll-up benchmark: every organisation's audit figures in one table, for provider staff.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dash_bench \\
        .venv/bin/python bench/rollup_bench.py
    options: --requests N (50 of each kind)  --keepdb  --no-write  --output PATH

Builds a database of its own (bench_audit_rollup, beside DATABASE_URL's; --keepdb reuses it)
holding 500 organisations with 1,000 connections between them (two each), as many directory
states, audit runs and audit states, six sync runs per connection (some failed), 90 days of
finding snapshots per connection and 200,000 unresolved findings (open, a few acknowledged or
suppressed) plus 50,000 resolved ones, spread over the rule catalogue and its severities. The
findings and snapshots are inserted with INSERT ... SELECT FROM generate_series, the rest with
bulk_create: building takes well under a minute.

Then a provider-staff user (MFA set up, as provider staff must have) asks for the roll-up page
("reports:rollup") through Django's test client, `--requests` times for the whole page and
as many times for the HTMX fragment with a sort or filter, and for a baseline page measured in
the same run (an organisation's home page), interleaved; then the whole page with twice the
rows (the view's page size patched), to show what a row costs. It prints p50/p95/max
server-side times, the SQL part and the queries per request, and writes them into
docs/BENCHMARKS.md between the rollup-bench markers (unless --no-write).
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.db import reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

BENCH_DATABASE = "bench_audit_rollup"
MARK_BEGIN = "<!-- rollup-bench:begin (written by bench/rollup_bench.py; edits here are lost) -->"
MARK_END = "<!-- rollup-bench:end -->"
TARGET_MS = 100.0
ORGANIZATIONS = 500
CONNECTIONS_PER_ORGANIZATION = 2
OPEN_FINDINGS = 200_000
RESOLVED_FINDINGS = 50_000
SNAPSHOT_DAYS = 90
SYNC_RUNS_PER_CONNECTION = 6
PROVIDER_EMAIL = "bench-provider@example.com"
#: (rule id, default severity) of the catalogue in the issue-10 design.
RULES = [
    ("routing.nowhere", "high"),
    ("security.admin_without_2fa", "critical"),
    ("security.user_without_2fa", "low"),
    ("tollfraud.external_forwarding", "high"),
    ("users.no_email", "medium"),
    ("users.duplicate_email", "medium"),
    ("users.duplicate_name", "low"),
    ("numbers.invalid", "medium"),
    ("contacts.duplicate_number", "low"),
    ("users.disabled_still_member", "medium"),
    ("groups.empty", "medium"),
    ("ivr.no_targets", "medium"),
    ("trunks.unregistered", "critical"),
    ("devices.unregistered", "medium"),
    ("extensions.unregistered", "low"),
    ("licence.expiring", "high"),
    ("licence.maintenance_expired", "high"),
    ("licence.inactive", "critical"),
    ("version.behind_fleet", "medium"),
    ("updates.auto_off", "low"),
    ("backups.none_recent", "high"),
    ("backups.not_scheduled", "high"),
    ("security.antihacking_weak", "high"),
    ("security.audit_log_off", "medium"),
    ("outbound.no_emergency_rule", "critical"),
]
#: Weights per rule so that the per-entry rules dominate, as they do on real PBXs.
RULE_WEIGHTS = [30, 2, 60, 8, 40, 6, 10, 80, 50, 6, 3, 2, 1, 20, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
VERSIONS = ["20.0.10.1060", "20.0.10.1060", "20.0.9.1044", "20.0.8.1109"]
WORDS = [
    "Northwind", "Contoso", "Fabrikam", "Litware", "Adatum", "Tailspin", "Wingtip", "Proseware",
    "Lamna", "Relecloud", "Woodgrove", "Fourth Coffee", "Margie's", "Trey", "Alpine", "Coho",
    "Humongous", "Blue Yonder", "Graphic Design", "Consolidated", "Müller & Söhne", "Østfold",
]  # fmt: skip
KINDS = ["Dental", "Logistics", "Legal", "Hotels", "Clinic", "Motors", "Bank", "Foods", "Group"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="requests of each kind")
    parser.add_argument("--keepdb", action="store_true", help="reuse the benchmark database")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the docs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args()
    if db.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    db.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    settings.DEBUG = True  # keeps connection.queries for the query counts
    names = setup_databases(verbosity=1, interactive=False, keepdb=args.keepdb)
    try:
        provider = _fleet()
        try:
            rollup = reverse("reports:rollup")
        except NoReverseMatch:
            sys.exit("No URL named reports:rollup yet: the seeded database is kept with --keepdb.")
        client = Client()
        client.force_login(provider)
        results = _run(client, rollup, args.requests)
        _slowest(results)
        text = report_markdown(results)
        print(f"\n{text}")
        if not args.no_write:
            docs_write(args.output, text)
            print(f"Written to {args.output}")
    finally:
        if not args.keepdb:
            teardown_databases(names, verbosity=1)


# --- the fleet ---------------------------------------------------------------------------------


def _fleet():
    from dashboard.accounts.models import User

    provider = User.objects.filter(email=PROVIDER_EMAIL).first()
    if provider is None:
        provider = _build()
    return provider


def _build():
    from allauth.mfa.models import Authenticator

    from dashboard.accounts.models import User

    started = time.perf_counter()
    with transaction.atomic():
        connections = _organizations_and_connections()
        _sync_history(connections)
        _findings()
        _audit_states(connections)
        _snapshots()
        provider = User.objects.create_user(
            email=PROVIDER_EMAIL, password="unused-123!", is_provider_staff=True
        )
        Authenticator.objects.create(
            user=provider, type=Authenticator.Type.TOTP, data={"secret": "x"}
        )
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Built the fleet in {time.perf_counter() - started:.0f} s.", flush=True)
    return provider


def _organizations_and_connections() -> list:
    from dashboard.tenants.models import Organization
    from integrations.threecx.models import ThreeCXConnection

    rng = random.Random(10)
    organizations = Organization.objects.bulk_create(
        Organization(name=f"{rng.choice(WORDS)} {rng.choice(KINDS)} {index:03d}")
        for index in range(ORGANIZATIONS)
    )
    template = ThreeCXConnection(client_id="900")
    template.client_secret_set("bench-secret")
    connections = []
    for organization in organizations:
        for index in range(CONNECTIONS_PER_ORGANIZATION):
            connections.append(
                ThreeCXConnection(
                    organization=organization,
                    name=["Head office", "Branch"][index],
                    base_url=f"https://pbx{len(connections)}.example.com",
                    client_id="900",
                    client_secret_encrypted=template.client_secret_encrypted,
                    version=rng.choice(VERSIONS),
                )
            )
    return ThreeCXConnection.objects.bulk_create(connections)


def _sync_history(connections: list) -> None:
    """Directory states and six sync runs per connection, the newest failed on one in ten."""
    from dashboard.directory.models import DirectoryState, SyncRun
    from integrations.threecx.models import ThreeCXConnection

    rng = random.Random(11)
    now = timezone.now()
    runs, states = [], []
    for connection in connections:
        newest_failed = rng.random() < 0.1
        last_success = None
        for age in range(SYNC_RUNS_PER_CONNECTION, 0, -1):
            failed = (age == 1 and newest_failed) or rng.random() < 0.05
            at = now - timedelta(hours=6 * age + rng.random())
            run = SyncRun(
                organization_id=connection.organization_id,
                connection=connection,
                trigger=SyncRun.Trigger.SCHEDULED,
                status=SyncRun.Status.FAILED if failed else SyncRun.Status.SUCCEEDED,
                started_at=at,
                finished_at=at + timedelta(seconds=40),
                heartbeat_at=at + timedelta(seconds=40),
                error="The 3CX server did not answer in time." if failed else "",
                error_title="Timed out" if failed else "",
                generation=None if failed else SYNC_RUNS_PER_CONNECTION - age + 1,
                server_version=connection.version,
            )
            runs.append(run)
            if not failed:
                last_success = run
        expires = now + timedelta(days=rng.randint(-20, 400))
        states.append(
            DirectoryState(
                connection=connection,
                generation=SYNC_RUNS_PER_CONNECTION,
                last_success_at=last_success.finished_at if last_success else None,
                counts={"user": 200, "contact": 3000, "queue": 5, "trunk": 2},
                system_status={
                    "Version": connection.version,
                    "ExpirationDate": expires.isoformat(),
                    "MaintenanceExpiresAt": (expires - timedelta(days=30)).isoformat(),
                    "Activated": True,
                    "LicenseKey": "****0001",
                },
            )
        )
    SyncRun.objects.bulk_create(runs, batch_size=2000)
    # The roll-up counts a connection whose last contact failed as a sync failure.
    failing = [
        run.connection_id
        for run in runs[SYNC_RUNS_PER_CONNECTION - 1 :: SYNC_RUNS_PER_CONNECTION]
        if run.status == SyncRun.Status.FAILED
    ]
    ThreeCXConnection.objects.filter(pk__in=failing).update(
        last_error="The 3CX server did not answer in time.", last_error_at=now
    )
    for state, connection in zip(states, connections, strict=True):
        state.last_run = next(run for run in reversed(runs) if run.connection_id == connection.pk)
    DirectoryState.objects.bulk_create(states, batch_size=2000)


def _findings() -> None:
    """200,000 unresolved and 50,000 resolved findings over every connection, by rules picked
    with RULE_WEIGHTS; 5% acknowledged and 2% suppressed."""
    weighted = [
        rule for rule, weight in zip(RULES, RULE_WEIGHTS, strict=True) for _ in range(weight)
    ]
    rules = "ARRAY[" + ", ".join(f"'{rule}'" for rule, _ in weighted) + "]"
    severities = "ARRAY[" + ", ".join(f"'{severity}'" for _, severity in weighted) + "]"
    per_connection = OPEN_FINDINGS // (ORGANIZATIONS * CONNECTIONS_PER_ORGANIZATION)
    resolved_per_connection = RESOLVED_FINDINGS // (ORGANIZATIONS * CONNECTIONS_PER_ORGANIZATION)
    statement = f"""
        INSERT INTO reports_finding (
            organization_id, connection_id, rule, severity, subject_kind, subject_external_id,
            subject_key, subject_label, summary, details, state, first_seen, last_seen,
            resolved_at, acknowledged_at, acknowledged_reason, acknowledged_until
        )
        SELECT c.organization_id, c.id, f.rule, f.severity, 'user', f.n,
            f.rule || ':user:' || f.n || %(suffix)s, 'Extension ' || (100 + f.n),
            'Extension ' || (100 + f.n) || ': ' || f.rule, '{{}}'::jsonb,
            CASE WHEN %(resolved)s THEN 'resolved'
                 WHEN f.n %% 50 = 0 THEN 'suppressed'
                 WHEN f.n %% 20 = 0 THEN 'acknowledged' ELSE 'open' END,
            now() - (f.n %% 120) * interval '1 day' - (f.n %% 24) * interval '1 hour',
            now() - (f.n %% 7) * interval '1 hour',
            CASE WHEN %(resolved)s THEN now() - (f.n %% 30) * interval '1 day' END,
            CASE WHEN f.n %% 20 = 0 AND NOT %(resolved)s THEN now() - interval '2 days' END,
            CASE WHEN f.n %% 20 = 0 AND NOT %(resolved)s THEN 'Known; the customer agreed'
                 ELSE '' END,
            NULL
        FROM threecx_threecxconnection c
        CROSS JOIN LATERAL (
            SELECT g AS n,
                ({rules})[1 + (abs(hashtext(c.id::text || g::text)) %% {len(weighted)})] AS rule,
                ({severities})[1 + (abs(hashtext(c.id::text || g::text)) %% {len(weighted)})]
                    AS severity
            FROM generate_series(1, %(count)s) g
        ) f
    """
    with db.cursor() as cursor:
        cursor.execute(statement, {"count": per_connection, "resolved": False, "suffix": ""})
        cursor.execute(
            statement, {"count": resolved_per_connection, "resolved": True, "suffix": ":old"}
        )


def _audit_states(connections: list) -> None:
    """An audit run and an AuditState per connection, with the counts the findings give."""
    from django.db.models import Count, Min, Q

    from dashboard.reports.models import AuditRun, AuditState, Finding, Severity

    now = timezone.now()
    runs = AuditRun.objects.bulk_create(
        AuditRun(
            organization_id=connection.organization_id,
            connection=connection,
            status=AuditRun.Status.SUCCEEDED,
            started_at=now - timedelta(hours=1),
            finished_at=now - timedelta(hours=1),
            generation=SYNC_RUNS_PER_CONNECTION,
            rules_run=[rule for rule, _ in RULES],
        )
        for connection in connections
    )
    unresolved = Q(state__in=[Finding.State.OPEN, Finding.State.ACKNOWLEDGED])
    counts = {
        row["connection_id"]: row
        for row in Finding.objects.filter(resolved_at__isnull=True)
        .values("connection_id")
        .annotate(
            **{
                severity.value: Count("id", filter=unresolved & Q(severity=severity))
                for severity in Severity
            },
            suppressed=Count("id", filter=Q(state=Finding.State.SUPPRESSED)),
            oldest_critical_at=Min("first_seen", filter=unresolved & Q(severity=Severity.CRITICAL)),
        )
    }
    worst = {}
    for row in (
        Finding.objects.filter(unresolved, resolved_at__isnull=True)
        .values("connection_id", "rule", "severity")
        .annotate(count=Count("id"))
    ):
        rank = (["critical", "high", "medium", "low"].index(row["severity"]), -row["count"])
        if row["connection_id"] not in worst or rank < worst[row["connection_id"]][0]:
            worst[row["connection_id"]] = (rank, row["rule"])
    rng = random.Random(12)
    AuditState.objects.bulk_create(
        AuditState(
            connection=connection,
            organization_id=connection.organization_id,
            last_run=run,
            last_audit_at=run.finished_at,
            critical=counts[connection.pk]["critical"],
            high=counts[connection.pk]["high"],
            medium=counts[connection.pk]["medium"],
            low=counts[connection.pk]["low"],
            suppressed=counts[connection.pk]["suppressed"],
            worst_rule=worst[connection.pk][1],
            oldest_critical_at=counts[connection.pk]["oldest_critical_at"],
            licence_expires_at=now + timedelta(days=rng.randint(-20, 400)),
            version=connection.version,
        )
        for connection, run in zip(connections, runs, strict=True)
    )


def _snapshots() -> None:
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO reports_findingsnapshot
                (connection_id, organization_id, day, critical, high, medium, low)
            SELECT s.connection_id, s.organization_id, current_date - d,
                greatest(s.critical - d / 30, 0), s.high + d / 10, s.medium + d / 5, s.low
            FROM reports_auditstate s CROSS JOIN generate_series(0, %s) d
            """,
            [SNAPSHOT_DAYS - 1],
        )


# --- the requests --------------------------------------------------------------------------------

Sample = tuple[float, float, int, str]  # total ms, SQL ms, queries, what was asked


def _run(client: Client, rollup: str, count: int) -> dict[str, list[Sample]]:
    from dashboard.tenants.models import Organization

    rng = random.Random(5)
    # As the page's own controls ask: HTMX, aimed at the results (reports.views.ROLLUP_TARGET).
    fragment = {"HX-Request": "true", "HX-Target": "rollup-results"}
    variants = [
        {"sort": "-critical"},
        {"sort": "name"},
        {"sort": "oldest_critical"},
        {"sort": "licence"},
        {"sort": "-failures"},
        {"sort": "synced"},
        {"q": rng.choice(WORDS)},
        {"having": "critical"},
        {"having": "failures"},
        {"having": "licence", "sort": "licence"},
    ]
    for _ in range(5):  # warm caches and connections
        client.get(rollup)
        client.get(rollup, rng.choice(variants), headers=fragment)
    home = reverse("organization_home", kwargs={"org_id": Organization.objects.first().pk})
    results: dict[str, list[Sample]] = {"whole page": [], "fragment, sorted or filtered": []}
    results["baseline: an organisation's home"] = []
    # Interleaved, so that whatever else the machine does weighs on each alike.
    for _ in range(count):
        results["whole page"].append(_measure(client, rollup, {}))
        results["fragment, sorted or filtered"].append(
            _measure(client, rollup, rng.choice(variants), headers=fragment)
        )
        results["baseline: an organisation's home"].append(_measure(client, home, {}))
    # What the rows cost: the same page with twice the rows (the view's page size patched).
    from dashboard.reports import views

    per_page = views.ROLLUP_PER_PAGE
    views.ROLLUP_PER_PAGE = per_page * 2
    try:
        name = f"whole page, {views.ROLLUP_PER_PAGE} rows (`ROLLUP_PER_PAGE` patched)"
        results[name] = [_measure(client, rollup, {}) for _ in range(count)]
    finally:
        views.ROLLUP_PER_PAGE = per_page
    results[f"whole page ({per_page} organisations a page)"] = results.pop("whole page")
    return dict(sorted(results.items(), key=lambda item: not item[0].startswith("whole page (")))


def _measure(client: Client, path: str, params: dict[str, str], **kwargs) -> Sample:
    reset_queries()
    started = time.perf_counter()
    response = client.get(path, params, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, params, response.status_code)
    sql = sum(float(query["time"]) for query in db.queries) * 1000
    return elapsed, sql, len(db.queries), f"{params}"


def report_markdown(results: dict[str, list[Sample]]) -> str:
    """The figures as the block of docs/BENCHMARKS.md between the markers."""
    from dashboard.reports import views

    with db.cursor() as cursor:
        version = cursor.connection.info.server_version
    baseline = next(samples for name, samples in results.items() if name.startswith("baseline"))
    baseline_p95 = _p([t for t, _, _, _ in baseline], 95)
    lines = [
        MARK_BEGIN,
        "### Latest run",
        "",
        f"`bench/rollup_bench.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, PostgreSQL "
        f"{version // 10000}, {os.cpu_count()} CPUs shared with whatever else ran (load average "
        f"{os.getloadavg()[0]:.1f} at the end); the default page shows "
        f'{views.ROLLUP_PER_PAGE} organisations. "p95 / baseline" divides by the baseline '
        "page's p95 of the same run, which makes runs on a busy machine comparable.",
        "",
        "| Request | n | p50 ms | p95 ms | max ms | p95 / baseline | SQL p50 ms | SQL p95 ms "
        "| queries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, samples in results.items():
        times = [t for t, _, _, _ in samples]
        sql = [s for _, s, _, _ in samples]
        queries = sorted({q for _, _, q, _ in samples})
        spread = f"{queries[0]}" if len(queries) == 1 else f"{queries[0]} to {queries[-1]}"
        lines.append(
            f"| {name} | {len(samples)} | {_p(times, 50):.1f} | {_p(times, 95):.1f} "
            f"| {max(times):.1f} | {_p(times, 95) / baseline_p95:.2f} | {_p(sql, 50):.1f} "
            f"| {_p(sql, 95):.1f} | {spread} |"
        )
    page, fragment = list(results.values())[:2]
    worst = max(_p([t for t, _, _, _ in page], 95), _p([t for t, _, _, _ in fragment], 95))
    queries = sorted({q for samples in (page, fragment) for _, _, q, _ in samples})
    lines += [
        "",
        "| target | result |",
        "| --- | --- |",
        f"| p95 at most {TARGET_MS:g} ms server-side (page and fragment) | "
        f"{'**met**' if worst <= TARGET_MS else '**missed**'}: {worst:.1f} ms at worst |",
        f"| constant query count | {' or '.join(map(str, queries))} queries whatever the sort "
        "or filter (asserted at 3 and 30 organisations in tests/dashboard/reports/"
        "test_rollup.py) |",
        MARK_END,
    ]
    return "\n".join(lines)


def docs_write(path: Path, block: str) -> None:
    """Replace the block between the markers, or append it."""
    text = path.read_text() if path.exists() else ""
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def _slowest(results: dict[str, list[Sample]]) -> None:
    print("Slowest requests (total ms / SQL ms):")
    for name, samples in results.items():
        slowest = sorted(samples, reverse=True)[:3]
        print(f"  {name}: " + "; ".join(f"{t:.0f}/{s:.0f} {w}" for t, s, _, w in slowest))


def _p(values: list[float], percentile: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]


if __name__ == "__main__":
    main()
