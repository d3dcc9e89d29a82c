"""End to end: syncs requested here go through Redis to a real Celery worker process, which
writes to PostgreSQL and talks to the simulator over loopback HTTP."""

from io import StringIO

import pytest
from django.core.management import call_command

from dashboard.directory.models import DirectoryEntry, SyncChange, SyncRun
from dashboard.directory.services import sync_run_cancel
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import (
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

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CONTACT_PAGES = r"^/xapi/v1/Contacts$"
TIMEOUT = 60


def test_a_real_worker_syncs_and_records_exactly_what_changed_on_the_server(
    simulator, connection, shared_worker
):
    first = synced_by_worker(connection)
    sim = simulator.simulator
    assert first.worker.startswith("tests-")
    assert visible(connection, "user").count() == sim.config.users
    assert visible(connection, "contact").count() == sim.config.contacts
    assert not SyncChange.objects.exists()  # a first import is not listed entry by entry

    edited_user, removed_user = quiet_users(connection, 2)
    edited_contact, removed_contact = visible(connection, "contact").order_by("external_id")[:2]
    sim.update("Users", edited_user.external_id, {"EmailAddress": "moved@example.com"})
    sim.delete("Users", removed_user.external_id)
    added_user = sim.add("Users", {"FirstName": "Nina", "LastName": "Newman", "Number": "150"})
    sim.update("Contacts", edited_contact.external_id, {"LastName": "Changed", "Title": "CFO"})
    sim.delete("Contacts", removed_contact.external_id)
    added_contact = sim.add("Contacts", {"FirstName": "Carl", "LastName": "Caller"})

    second = synced_by_worker(connection)
    assert (second.added, second.changed, second.removed) == (2, 2, 2)
    changes = {
        (change.kind, change.action, change.external_id): (change.label, change.fields)
        for change in SyncChange.objects.filter(run=second)
    }
    assert changes == {
        ("user", "changed", edited_user.external_id): (
            edited_user.name,
            {"EmailAddress": [edited_user.email, "moved@example.com"]},
        ),
        ("user", "removed", removed_user.external_id): (removed_user.name, {}),
        ("user", "added", added_user["Id"]): ("Nina Newman", {}),
        ("contact", "changed", edited_contact.external_id): (
            f"{edited_contact.first_name} Changed",
            {
                "LastName": [edited_contact.last_name, "Changed"],
                "Title": [edited_contact.data.get("Title"), "CFO"],
            },
        ),
        ("contact", "removed", removed_contact.external_id): (removed_contact.name, {}),
        ("contact", "added", added_contact["Id"]): ("Carl Caller", {}),
    }
    users = visible(connection, "user")
    assert users.get(external_id=edited_user.external_id).email == "moved@example.com"
    assert not users.filter(external_id=removed_user.external_id).exists()
    assert users.get(number="150").name == "Nina Newman"
    assert DirectoryEntry.objects.filter(connection=connection).count() == (
        visible(connection).count()
    )


def test_the_command_follows_a_real_workers_progress_to_the_result(
    simulator, connection, shared_worker
):
    simulator.simulator.faults.add(Fault(match=CONTACT_PAGES, kind="latency", delay=0.1))
    out = StringIO()
    call_command(
        "sync_directory",
        str(connection.pk),
        "--wait",
        "--poll-interval",
        "0.02",
        "--timeout",
        str(TIMEOUT),
        stdout=out,
    )
    run = SyncRun.objects.get()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Queued sync {run.pk} of Main PBX."
    assert "  Contact: 40 of 120" in lines  # seen while the worker was at it (pages of 20)
    assert "  Contact: 120 of 120, done" in lines
    assert lines[-1] == f"Sync {run.pk} succeeded: {run.added} added, 0 changed, 0 removed."


def test_a_real_worker_stops_a_cancelled_sync_at_the_next_page(
    simulator, connection, shared_worker
):
    synced_by_worker(connection)
    sim = simulator.simulator
    sim.add("Contacts", {"FirstName": "Never", "LastName": "Seen"})
    before = snapshot(connection)
    sim.faults.add(Fault(match=CONTACT_PAGES, kind="latency", delay=0.3))

    run = run_wait(requested(connection), until=fetched("contact", 20), timeout=TIMEOUT)
    sync_run_cancel(run=run)
    asked_before_cancel = sim.request_count(CONTACT_PAGES)
    run = run_wait(run, until=finished, timeout=TIMEOUT)

    assert run.status == SyncRun.Status.CANCELLED
    assert run.error == "Cancelled."
    assert sim.request_count(CONTACT_PAGES) <= asked_before_cancel + 1  # the page in flight
    assert run.progress["contact"]["fetched"] < 121
    assert snapshot(connection) == before
    assert leftovers(connection) == 0
