"""A worker SIGKILLed in the middle of a sync: the run is found stale, the previous directory
stays what users see, and the next run (on a new worker) duplicates nothing.

A module of its own: its workers must not share the task queue with another module's."""

from datetime import timedelta

import pytest

from dashboard.directory.models import DirectoryEntry, SyncRun
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import (
    duplicates,
    fetched,
    finished,
    leftovers,
    quiet_users,
    requested,
    run_wait,
    snapshot,
    synced_by_worker,
    visible,
)
from tests.workers import sleep_until, worker_kill

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CONTACT_PAGES = r"^/xapi/v1/Contacts$"
TIMEOUT = 60


def test_a_worker_killed_mid_run_is_found_stale_and_the_next_run_duplicates_nothing(
    simulator, connection, simulator_worker, settings
):
    worker = simulator_worker()
    synced_by_worker(connection)
    sim = simulator.simulator
    (user,) = quiet_users(connection, 1)
    sim.update("Users", user.external_id, {"EmailAddress": "moved@example.com"})
    added_contact = sim.add("Contacts", {"FirstName": "Late", "LastName": "Arrival"})
    before = snapshot(connection)
    sim.faults.add(Fault(match=CONTACT_PAGES, kind="latency", delay=0.2))

    doomed = run_wait(requested(connection), until=fetched("contact", 40), timeout=TIMEOUT)
    worker_kill(worker)  # SIGKILL, pool processes included
    doomed.refresh_from_db()
    assert doomed.status == SyncRun.Status.RUNNING  # nobody can tell yet
    assert leftovers(connection) > 0  # the changed user and pages of contacts were written
    assert snapshot(connection) == before  # but users still see the previous directory

    sim.faults.clear()
    simulator_worker()
    settings.DIRECTORY_SYNC_STALE_AFTER = 1
    sleep_until(doomed.heartbeat_at + timedelta(seconds=1.1))
    retry = requested(connection)  # finds the dead run stale first
    doomed.refresh_from_db()
    assert doomed.status == SyncRun.Status.FAILED
    assert "stopped responding" in doomed.error
    assert leftovers(connection) == 0

    retry = run_wait(retry, until=finished, timeout=TIMEOUT)
    assert retry.status == SyncRun.Status.SUCCEEDED, retry.error
    assert (retry.added, retry.changed, retry.removed) == (1, 1, 0)
    assert duplicates(connection) == {}
    assert DirectoryEntry.objects.filter(connection=connection).count() == (
        visible(connection).count()
    )
    assert visible(connection).filter(email="moved@example.com").count() == 1
    assert visible(connection, "contact").filter(external_id=added_contact["Id"]).count() == 1
    assert visible(connection, "contact").count() == sim.config.contacts + 1
