"""Directory listing benchmark: search, filter, sort and page on a large directory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dashboard_dev \\
        .venv/bin/python bench/listing_bench.py [--requests 200] [--keepdb]

Builds a database of its own (bench_directory_listing, beside DATABASE_URL's; --keepdb
reuses it), with one organisation holding 2,000 users synced from the simulator over HTTP
and 100,000 contacts bulk-created from the simulator's contact generator (the same varied
data a sync would write: accents, CJK, RTL, companies, messy numbers), plus a second
organisation with 50,000 contacts so that the indexes have to pick one tenant out of
several. Then it sends `--requests` requests of each kind through Django's test client as
a signed-in viewer, HTMX fragments as live search sends them, and prints p50/p95 server-side
times and SQL queries per request. Results go to docs/BENCHMARKS.md by hand.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.db import reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.urls import reverse  # noqa: E402

BENCH_DATABASE = "bench_directory_listing"
CONTACTS = 100_000
OTHER_CONTACTS = 50_000
USERS = 2_000
TERMS = [
    "müller", "smith", "o'brien", "garcía", "王", "محمد", "כהן", "acme", "northwind",
    "sakura", "lefèvre", "dvořák", "+4420", "555", "james", "grace", "contoso", "legal",
    "info@", "schäfer", "ørsted", "nikos", "mcdonald", "peña", "olivia", "@acme-corp",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument("--keepdb", action="store_true", help="reuse the benchmark database")
    args = parser.parse_args()
    if db.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    db.settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    settings.DEBUG = True  # keeps connection.queries for the query counts
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    names = setup_databases(verbosity=1, interactive=False, keepdb=args.keepdb)
    try:
        organization, viewer = _directory()
        client = Client()
        client.force_login(viewer)
        _report(_run(client, organization, args.requests))
    finally:
        if not args.keepdb:
            teardown_databases(names, verbosity=1)


def _directory():
    from dashboard.tenants.models import Membership, Organization

    organization = Organization.objects.filter(name="Benchmark Telecom").first()
    if organization is None:
        organization = _build()
    viewer = Membership.objects.get(organization=organization, role="viewer").user
    return organization, viewer


def _build():
    from dashboard.accounts.models import User
    from dashboard.tenants.models import Membership, Organization

    started = time.perf_counter()
    organization = Organization.objects.create(name="Benchmark Telecom")
    viewer = User.objects.create_user(email="bench-viewer@example.com", password="unused-123!")
    Membership.objects.create(organization=organization, user=viewer, role="viewer")
    connection = _sync_users(organization)
    _add_contacts(connection, CONTACTS, seed=11)
    other = Organization.objects.create(name="Another Tenant")
    _add_contacts(_sync_users(other, users=50), OTHER_CONTACTS, seed=12)
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Built the directory in {time.perf_counter() - started:.0f} s.")
    return organization


def _sync_users(organization, users: int = USERS):
    """Users, departments, queues... synced for real, over HTTP from the simulator."""
    from dashboard.directory.models import SyncRun
    from dashboard.directory.sync import sync_run_execute
    from integrations.threecx.models import ThreeCXConnection
    from integrations.threecx.services import connection_save
    from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer

    config = SimulatorConfig(
        seed=7, users=users, contacts=0, groups=12, queues=30, ring_groups=20, receptionists=8
    )
    with SimulatorServer(Simulator(config)) as server:
        connection = connection_save(
            connection=ThreeCXConnection(
                organization=organization,
                name="Head office",
                base_url=server.base_url,
                client_id=config.client_id,
            ),
            client_secret=config.client_secret,
        )
        run = SyncRun.objects.create(organization=organization, connection=connection)
        run = sync_run_execute(run_id=run.pk, worker="bench")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return connection


def _add_contacts(connection, count: int, *, seed: int) -> None:
    """Contacts as a sync would have written them, inserted directly."""
    from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
    from dashboard.directory.sources import SOURCES, content_hash, without_secrets
    from integrations.threecx.simulator.data import ContactFactory

    source = next(s for s in SOURCES if s.kind == EntryKind.CONTACT)
    state = DirectoryState.objects.get(connection=connection)
    factory = ContactFactory(seed)
    batch = []
    for index in range(count):
        data = without_secrets(source.entity_set, factory.make(index))
        batch.append(
            DirectoryEntry(
                organization_id=connection.organization_id,
                connection=connection,
                kind=EntryKind.CONTACT,
                external_id=data["Id"],
                generation_added=state.generation,
                data=data,
                content_hash=content_hash(data),
                **source.normalize(data).columns,
            )
        )
        if len(batch) == 5000:
            DirectoryEntry.objects.bulk_create(batch)
            batch = []
    DirectoryEntry.objects.bulk_create(batch)
    state.counts = {**state.counts, EntryKind.CONTACT: count}
    state.save(update_fields=["counts"])


Request = tuple[str, dict[str, str]]
Sample = tuple[float, float, int, str]  # total ms, SQL ms, queries, what was asked


def _run(client: Client, organization, count: int) -> dict[str, list[Sample]]:
    from dashboard.directory.models import DirectoryEntry

    rng = random.Random(5)
    departments = list(
        DirectoryEntry.objects.filter(organization=organization, kind="group")
        .values_list("name", flat=True)
        .distinct()
    )

    def url(kind: str) -> str:
        return reverse("directory_list", kwargs={"org_id": organization.pk, "kind": kind})

    def search() -> Request:
        return url(rng.choice(["contacts", "contacts", "users"])), {"q": rng.choice(TERMS)}

    def filter_() -> Request:
        return rng.choice(
            [
                (url("contacts"), {"entry_type": rng.choice(["CRM", "Google", "M365", "3CX"])}),
                (url("contacts"), {"has_email": rng.choice(["yes", "no"])}),
                (url("contacts"), {"company": rng.choice(["müller", "acme", "café", "株式"])}),
                (url("contacts"), {"entry_type": "CRM", "has_email": "no", "q": "sales"}),
                (url("users"), {"enabled": "no"}),
                (url("users"), {"department": rng.choice(departments)}),
                (url("users"), {"admin": "yes", "require_2fa": "no"}),
                (url("users"), {"has_email": "no", "registered": "yes"}),
            ]
        )

    def sort() -> Request:
        kind = rng.choice(["contacts", "contacts", "users"])
        keys = {"contacts": ["name", "company", "email", "type"], "users": ["number", "name"]}
        return url(kind), {"sort": rng.choice(["", "-"]) + rng.choice(keys[kind])}

    def page() -> Request:
        # Any page a listing offers: the first 1,000 entries (PAGE_DEPTH), in any order.
        kind = rng.choice(["contacts", "contacts", "users"])
        params = {"page": str(rng.randint(2, 20))}
        if rng.random() < 0.5:
            params["sort"] = rng.choice(["-name", "email"])
        return url(kind), params

    kinds: dict[str, Callable[[], Request]] = {
        "search": search,
        "filter": filter_,
        "sort": sort,
        "page": page,
    }
    fragment = {"HX-Request": "true", "HX-Target": "directory-results"}
    for make in kinds.values():  # warm caches and connections
        for _ in range(5):
            path, params = make()
            client.get(path, params, headers=fragment)
    # Round-robin, so that whatever else the machine is doing weighs on every kind alike.
    results: dict[str, list[Sample]] = {name: [] for name in kinds}
    for _ in range(count):
        for name, make in kinds.items():
            results[name].append(_measure(client, *make(), headers=fragment))
    mixed = list(kinds.values())
    results["full page (mixed)"] = [
        _measure(client, *rng.choice(mixed)()) for _ in range(max(count // 4, 1))
    ]
    home = reverse("organization_home", kwargs={"org_id": organization.pk})
    results["baseline: organisation home"] = [
        _measure(client, home, {}) for _ in range(max(count // 4, 1))
    ]
    return results


def _measure(client: Client, path: str, params: dict[str, str], **kwargs) -> Sample:
    reset_queries()
    started = time.perf_counter()
    response = client.get(path, params, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, params, response.status_code)
    sql = sum(float(query["time"]) for query in db.queries) * 1000
    kind = path.rstrip("/").rsplit("/", 1)[-1]
    return elapsed, sql, len(db.queries), f"{kind} {params}"


def _report(results: dict[str, list[Sample]]) -> None:
    print(f"\nPostgreSQL {db.cursor().connection.info.server_version}, load {os.getloadavg()}")
    print("| Request | n | p50 ms | p95 ms | max ms | SQL p50 ms | SQL p95 ms | queries |")
    print("|---|---|---|---|---|---|---|---|")
    for name, samples in results.items():
        times = [t for t, _, _, _ in samples]
        sql = [s for _, s, _, _ in samples]
        queries = sorted({q for _, _, q, _ in samples})
        spread = f"{queries[0]}" if len(queries) == 1 else f"{queries[0]} to {queries[-1]}"
        print(
            f"| {name} | {len(samples)} | {_p(times, 50):.1f} | {_p(times, 95):.1f} "
            f"| {max(times):.1f} | {_p(sql, 50):.1f} | {_p(sql, 95):.1f} | {spread} |"
        )
    print("\nSlowest requests (total ms / SQL ms):")
    for name, samples in results.items():
        slowest = sorted(samples, reverse=True)[:3]
        print(f"  {name}: " + "; ".join(f"{t:.0f}/{s:.0f} {w}" for t, s, _, w in slowest))


def _p(values: list[float], percentile: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]


if __name__ == "__main__":
    main()
