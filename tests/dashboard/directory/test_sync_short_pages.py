"""A PBX that answers fewer rows per page than `$top` asks for: the sync reads every row.

Against a 3CX capping pages at 100 rows, a sync of 1,500 users and 30,000 contacts once
"succeeded" with 100 of each, and on a connection synced in full before it recorded the
rest as removed. Page size and page cap differ on purpose (500 asked, 100 answered). The
contacts here are a fifth of that PBX's: still 60 capped pages, each short of what was
asked, which is what the bug needs; the whole 30,000 only made each sync five times longer.
"""

import pytest
import requests

from dashboard.directory.models import DirectoryState, SyncRun
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import leftovers, on_page, snapshot, sync_now, visible

pytestmark = pytest.mark.django_db

USERS, CONTACTS, CAP, PAGE = 1_500, 6_000, 100, 500


@pytest.fixture
def big_simulator(make_simulator):
    return make_simulator(users=USERS, contacts=CONTACTS)


def assert_everything_arrived(connection, run: SyncRun) -> None:
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert visible(connection, "user").count() == USERS
    assert visible(connection, "contact").count() == CONTACTS
    assert run.progress["user"] == {"fetched": USERS, "total": USERS, "done": True}
    assert run.progress["contact"] == {"fetched": CONTACTS, "total": CONTACTS, "done": True}
    assert leftovers(connection) == 0


def test_a_first_sync_against_a_capped_server_gets_every_user_and_contact(
    make_simulator, connection_to
):
    server = make_simulator(users=USERS, contacts=CONTACTS, max_page_size=CAP)
    connection = connection_to(server)
    run = sync_now(connection, page_size=PAGE)
    assert_everything_arrived(connection, run)
    assert run.added == visible(connection).count()
    assert server.simulator.request_count(r"^/xapi/v1/Contacts$") == CONTACTS // CAP


def test_a_resync_against_a_server_that_started_capping_removes_nothing(
    big_simulator, connection_to
):
    connection = connection_to(big_simulator)
    assert sync_now(connection, page_size=PAGE).status == SyncRun.Status.SUCCEEDED
    before = snapshot(connection)
    cap = {"match": r"^/xapi/v1/\w+$", "kind": "page_size", "max_page_size": CAP}
    requests.post(
        f"{big_simulator.base_url}/_simulator/faults", json=cap, timeout=10
    ).raise_for_status()

    run = sync_now(connection, page_size=PAGE)

    assert_everything_arrived(connection, run)
    assert (run.added, run.changed, run.removed) == (0, 0, 0)
    assert snapshot(connection) == before


def test_a_capped_server_without_a_count_is_read_to_its_empty_page(make_simulator, connection_to):
    server = make_simulator(users=USERS, contacts=1_000, max_page_size=CAP, odata_count="missing")
    connection = connection_to(server)
    run = sync_now(connection, page_size=PAGE)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert visible(connection, "user").count() == USERS
    assert visible(connection, "contact").count() == 1_000


@pytest.mark.parametrize("odata_count", ["negative", "huge", "missing"])
def test_a_count_that_cannot_be_believed_shows_rows_fetched_without_a_total(
    make_simulator, connection_to, odata_count
):
    server = make_simulator(contacts=1_000, max_page_size=CAP, odata_count=odata_count)
    connection = connection_to(server)
    progress = []

    def look() -> None:
        progress.append(SyncRun.objects.get(connection=connection).progress["contact"])

    run = sync_now(connection, client_factory=on_page("Contacts", 3, look, page_size=PAGE))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert progress == [{"fetched": 2 * CAP, "total": None, "done": False}]
    assert run.progress["contact"] == {"fetched": 1_000, "total": 1_000, "done": True}


def test_fewer_rows_than_a_believable_count_fail_the_run_and_keep_the_directory(
    make_simulator, connection_to
):
    server = make_simulator(contacts=1_000, max_page_size=CAP)
    connection = connection_to(server)
    assert sync_now(connection, page_size=PAGE).status == SyncRun.Status.SUCCEEDED
    before = snapshot(connection)
    generation = DirectoryState.objects.get(connection=connection).generation
    server.simulator.faults.add(
        Fault(match=r"^/xapi/v1/Contacts$", kind="odata_count", odata_count=1_050)
    )

    run = sync_now(connection, page_size=PAGE)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Rows missing: The server announced 1,050 Contacts")
    assert not run.error_permanent, "data that changed while it was read: a retry reads it again"
    assert snapshot(connection) == before
    assert DirectoryState.objects.get(connection=connection).generation == generation
    assert leftovers(connection) == 0
