"""Faults from the simulator during a sync: each run ends with a status and an error that tell
what happened, and with either the previous directory or the new one intact, never a mix."""

from dataclasses import dataclass

import pytest

from dashboard.directory.models import DirectoryState, SyncChange, SyncRun
from integrations.threecx.simulator import Fault, SimulatorServer
from tests.dashboard.directory.syncing import leftovers, snapshot, sync_now, visible

pytestmark = pytest.mark.django_db

PAGE = 50  # the simulator has 120 contacts: three pages; `skip=1` hits the second one
CONTACT_PAGES = r"^/xapi/v1/Contacts$"


@dataclass
class Changed:
    """A connection synced once, then changed on the server (users first, contacts later)."""

    server: SimulatorServer
    connection: object
    before: set
    generation: int
    renamed_user: int
    added_contact: int

    def sync(self) -> SyncRun:
        return sync_now(self.connection, page_size=PAGE)

    def fault(self, **options) -> Fault:
        return self.server.simulator.faults.add(Fault(match=CONTACT_PAGES, **options))

    def assert_previous_directory_intact(self, run: SyncRun) -> None:
        assert snapshot(self.connection) == self.before
        assert DirectoryState.objects.get(connection=self.connection).generation == (
            self.generation
        )
        assert leftovers(self.connection) == 0  # nothing of the failed run's generation
        assert not SyncChange.objects.filter(run=run).exists()
        assert (run.added, run.changed, run.removed) == (0, 0, 0)

    def assert_new_directory(self, run: SyncRun) -> None:
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.error == ""
        assert (run.added, run.changed, run.removed) == (1, 1, 0)
        user = visible(self.connection, "user").get(external_id=self.renamed_user)
        assert user.email == "renamed@example.com"
        assert visible(self.connection, "contact").filter(external_id=self.added_contact).exists()
        assert leftovers(self.connection) == 0


@pytest.fixture
def changed(simulator, connection) -> Changed:
    assert sync_now(connection, page_size=PAGE).status == SyncRun.Status.SUCCEEDED
    sim = simulator.simulator
    user = visible(connection, "user").order_by("external_id").last()
    sim.update("Users", user.external_id, {"EmailAddress": "renamed@example.com"})
    contact = sim.add("Contacts", {"FirstName": "Fresh", "LastName": "Contact"})
    return Changed(
        server=simulator,
        connection=connection,
        before=snapshot(connection),
        generation=DirectoryState.objects.get(connection=connection).generation,
        renamed_user=user.external_id,
        added_contact=contact["Id"],
    )


def test_a_429_storm_fails_the_run_as_rate_limited_and_keeps_the_previous_directory(changed):
    storm = changed.fault(status=429, retry_after=0, skip=1)
    run = changed.sync()
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Rate limited:")
    assert "HTTP 429" in run.error
    assert not run.error_permanent
    assert changed.server.simulator.faults.fired(storm) == 3  # every attempt, then it gave up
    changed.assert_previous_directory_intact(run)
    changed.connection.refresh_from_db()
    assert changed.connection.last_error == run.error
    assert not changed.connection.last_error_permanent


def test_a_500_followed_by_recovery_is_retried_and_the_run_succeeds(changed):
    blip = changed.fault(status=500, times=1, skip=1)
    run = changed.sync()
    assert changed.server.simulator.faults.fired(blip) == 1
    changed.assert_new_directory(run)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "retry_after": 0, "times": 2},
        {"kind": "reset", "times": 1},
        {"kind": "truncated", "times": 1},
        {"kind": "malformed_json", "times": 1},
    ],
    ids=["503-with-retry-after", "connection-reset", "truncated-page", "one-malformed-page"],
)
def test_a_passing_fault_mid_run_is_retried_and_the_run_succeeds(changed, fault):
    changed.fault(skip=1, **fault)
    changed.assert_new_directory(changed.sync())


def test_a_token_revoked_mid_run_is_replaced_once_and_the_run_succeeds(changed):
    revoke = changed.fault(kind="revoke_token", times=1, skip=1)
    token_requests = changed.server.simulator.token_requests
    run = changed.sync()
    assert changed.server.simulator.faults.fired(revoke) == 1
    changed.assert_new_directory(run)
    assert changed.server.simulator.token_requests == token_requests + 1


def test_a_malformed_json_page_fails_the_run_and_leaves_nothing_of_it_behind(changed):
    changed.fault(kind="malformed_json", skip=1)
    run = changed.sync()
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Unexpected answer: Expected JSON from /xapi/v1/Contacts")
    assert not run.error_permanent
    assert run.progress["contact"] == {"fetched": PAGE, "total": 121, "done": False}
    changed.assert_previous_directory_intact(run)


def test_bad_credentials_fail_the_run_permanently_and_mark_the_connection(simulator, connection_to):
    connection = connection_to(simulator, client_secret="not-the-secret")
    run = sync_now(connection)
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Authentication failed:")
    assert run.error_permanent
    assert simulator.simulator.token_requests == 1  # refused credentials are not retried
    assert not visible(connection).exists()
    connection.refresh_from_db()
    assert connection.last_error_permanent
    assert connection.last_error == run.error


def test_a_forbidden_collection_fails_the_run_permanently(changed):
    changed.fault(status=403)
    run = changed.sync()
    assert (run.status, run.error_permanent) == ("failed", True)
    assert run.error.startswith("Not allowed:")
    changed.assert_previous_directory_intact(run)
