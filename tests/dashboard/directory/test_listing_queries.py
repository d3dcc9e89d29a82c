"""What a listing costs the database: a fixed number of queries, and the indexes it uses."""

import pytest
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.directory import selectors
from dashboard.directory.listings import LISTINGS
from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    DirectoryState,
    EntryKind,
)
from integrations.threecx.models import ThreeCXConnection
from tests.factories import OrganizationFactory
from tests.module_data import module_transaction

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true", "HX-Target": "directory-results"}
ROWS = 120  # more than the largest page, so that page sizes 10 and 100 both fill up


def connection_of(organization, name: str = "PBX") -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization, name=name, base_url="https://pbx.example.com", client_id="900"
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    return connection


def fill(connection, kind: str, count: int, **columns) -> list[DirectoryEntry]:
    """`count` visible entries of `kind`, named "<Kind> <n>" with numbers from 1000."""
    state, _ = DirectoryState.objects.get_or_create(connection=connection)
    DirectoryState.objects.filter(pk=state.pk).update(generation=1)
    start = DirectoryEntry.objects.filter(connection=connection, kind=kind).count()
    entries = DirectoryEntry.objects.bulk_create(
        DirectoryEntry(
            organization_id=connection.organization_id,
            connection=connection,
            kind=kind,
            external_id=start + n + 1,
            generation_added=1,
            number=str(1000 + start + n),
            name=f"{kind.title()} {start + n}",
            email=f"{kind}{start + n}@example.com" if n % 3 else "",
            entry_type="CRM" if n % 2 else "3CX",
            enabled=n % 5 != 0,
            content_hash="0",
            data={"Id": start + n + 1},
        )
        for n in range(count)
    )
    return entries


@pytest.fixture(scope="module")
def _directory_of_module(django_db_setup, django_db_blocker):
    """An organisation and its connection's directory, written once for the module's tests,
    which only read them (see tests/module_data.py)."""
    with module_transaction(django_db_blocker) as writing:
        with writing():
            organization = OrganizationFactory(name="Acme Telecom")
            connection = directory_fill(organization)
        yield organization, connection


@pytest.fixture
def organization(_directory_of_module):
    return _directory_of_module[0]


@pytest.fixture
def directory(_directory_of_module, db):
    return _directory_of_module[1]


def directory_fill(organization) -> ThreeCXConnection:
    """ROWS entries of every kind, users in departments, and routes to users and nobody."""
    connection = connection_of(organization)
    for kind in EntryKind:
        fill(connection, kind, ROWS)
    users = list(DirectoryEntry.objects.filter(kind=EntryKind.USER).order_by("pk"))
    groups = list(DirectoryEntry.objects.filter(kind=EntryKind.GROUP).order_by("pk")[:3])
    relations = [
        DirectoryRelation(
            connection=connection,
            source=user,
            kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER,
            target_external_id=groups[n % 3].external_id,
            label=groups[n % 3].name,
        )
        for n, user in enumerate(users)
    ]
    relation_kinds = {
        EntryKind.QUEUE: DirectoryRelation.Kind.QUEUE_AGENT,
        EntryKind.RING_GROUP: DirectoryRelation.Kind.RING_GROUP_MEMBER,
        EntryKind.IVR: DirectoryRelation.Kind.IVR_FORWARD,
    }
    for kind, relation_kind in relation_kinds.items():
        for n, source in enumerate(DirectoryEntry.objects.filter(kind=kind)):
            # Two real users, and on every other one an extension nobody has.
            targets = [users[n].number, users[-n].number] + (["9999"] if n % 2 else [])
            relations += [
                DirectoryRelation(
                    connection=connection, source=source, kind=relation_kind, target_number=t
                )
                for t in targets
            ]
    DirectoryRelation.objects.bulk_create(relations)
    DirectoryState.objects.filter(connection=connection).update(
        counts={kind: ROWS for kind in EntryKind}
    )
    return connection


def queries_for(client, url: str, params: dict, **kwargs) -> int:
    with CaptureQueriesContext(db) as captured:
        response = client.get(url, params, **kwargs)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


SCENARIOS = {
    "unfiltered": {},
    "search": {"q": "1"},
    "short search": {"q": "Us"},
    "sorted": {"sort": "-name"},
    "filtered": {"enabled": "yes"},
}


@pytest.mark.parametrize("slug", LISTINGS)
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("output", ["page", "fragment"])
def test_a_listing_costs_the_same_queries_for_10_or_100_rows(
    client_for, viewer, organization, directory, slug, scenario, output
):
    client = client_for(viewer)
    url = reverse("directory_list", kwargs={"org_id": organization.pk, "kind": slug})
    params = dict(SCENARIOS[scenario])
    if "enabled" in params and slug != "users":
        params = {"sort": "-number"}
    headers = FRAGMENT if output == "fragment" else {}
    client.get(url, params, headers=headers)  # fills the cache of filter choices
    small = queries_for(client, url, {**params, "per_page": "10"}, headers=headers)
    large = queries_for(client, url, {**params, "per_page": "100"}, headers=headers)
    assert small == large
    # Session, user, MFA check, membership, connections, count or search, page, and the
    # context processor's organisation switcher on full pages.
    assert large <= 9


def test_the_csv_export_costs_the_same_queries_for_any_number_of_rows(
    client_for, viewer, organization, directory
):
    client = client_for(viewer)
    url = reverse("directory_list", kwargs={"org_id": organization.pk, "kind": "queues"})
    few = queries_for(client, url, {"format": "csv", "q": "Queue 7"})
    every = queries_for(client, url, {"format": "csv"})
    assert few == every


def test_filter_choices_are_read_once_per_sync(client_for, viewer, organization, directory):
    client = client_for(viewer)
    url = reverse("directory_list", kwargs={"org_id": organization.pk, "kind": "contacts"})
    first = queries_for(client, url, {})
    assert queries_for(client, url, {}) == first - 1
    DirectoryState.objects.filter(connection=directory).update(generation=2)
    DirectoryEntry.objects.filter(connection=directory).update(generation_added=2)
    assert queries_for(client, url, {}) == first


SEARCH_INDEX = "directory_entry_search_unaccent_trgm"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("kind", "search", "index"),
    [
        (None, lambda qs: selectors.entry_search(qs, "ada love"), SEARCH_INDEX),
        (None, lambda qs: selectors.entry_search(qs, "王"), SEARCH_INDEX),
        (None, lambda qs: selectors.entry_search(qs, "Dvořák"), SEARCH_INDEX),
        (
            EntryKind.CONTACT,
            lambda qs: selectors.entries_of_company(qs, "Müller"),
            "directory_entry_company_unaccent_trgm",
        ),
    ],
)
def test_searches_use_the_trigram_indexes(directory, kind, search, index):
    """The query must repeat the index expression exactly, or PostgreSQL scans every row."""
    # Only the condition the index is for (and the one a partial index needs), so that no
    # other index serves the query better on a table this small.
    entries = DirectoryEntry.objects.filter(kind=kind) if kind else DirectoryEntry.objects.all()
    # Enough contacts that reading every one of them through the index on their kind costs
    # more than a trigram index, however small the table is otherwise: a few hundred rows
    # leave the planner undecided between the two.
    fill(directory, EntryKind.CONTACT, 2_000)
    with transaction.atomic(), db.cursor() as cursor:
        cursor.execute("ANALYZE directory_directoryentry")
        # A table this small is cheaper to scan: forbid that, to see whether the index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = search(entries).explain()
    # On a table this small the planner may serve the condition from either trigram index
    # (both hold the kind); what must never happen is a scan that uses none of them.
    assert index in plan or "_trgm" in plan, plan
