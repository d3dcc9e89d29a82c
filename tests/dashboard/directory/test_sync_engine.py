"""The sync engine, run in-process against the simulator over loopback HTTP."""

import pytest

from dashboard.directory.models import (
    DirectoryEntry,
    DirectoryRelation,
    EntryKind,
    SyncChange,
    SyncRun,
)
from dashboard.directory.sync import sync_run_execute

pytestmark = pytest.mark.django_db


def run_sync(connection, trigger=SyncRun.Trigger.MANUAL) -> SyncRun:
    run = SyncRun.objects.create(
        organization=connection.organization, connection=connection, trigger=trigger
    )
    return sync_run_execute(run_id=run.pk, worker="test")


def visible(connection, kind=None):
    entries = DirectoryEntry.objects.visible().filter(connection=connection)
    return entries.filter(kind=kind) if kind else entries


def test_a_first_sync_stores_every_kind(simulator, connection_to):
    connection = connection_to(simulator)
    run = run_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    config = simulator.simulator.config
    assert visible(connection, EntryKind.USER).count() == config.users
    assert visible(connection, EntryKind.CONTACT).count() == config.contacts
    assert visible(connection, EntryKind.QUEUE).count() == config.queues
    assert run.progress["contact"] == {
        "fetched": config.contacts,
        "total": config.contacts,
        "done": True,
    }
    assert run.added == visible(connection).count()
    assert not SyncChange.objects.exists()  # the first import is not listed entry by entry
    assert DirectoryRelation.objects.filter(kind="queue_agent").exists()
    user = visible(connection, EntryKind.USER).first()
    assert not {"AuthPassword", "AccessPassword", "DeskphonePassword", "VMPIN"} & set(user.data)


def test_a_second_sync_with_nothing_changed_writes_nothing(
    simulator, connection_to, django_assert_max_num_queries
):
    connection = connection_to(simulator)
    run_sync(connection)
    ids_before = set(visible(connection).values_list("pk", flat=True))
    run = run_sync(connection)
    assert (run.added, run.changed, run.removed) == (0, 0, 0)
    assert set(visible(connection).values_list("pk", flat=True)) == ids_before


def test_changes_between_syncs_are_recorded_field_by_field(simulator, connection_to):
    connection = connection_to(simulator)
    run_sync(connection)
    sim = simulator.simulator
    referenced = DirectoryRelation.objects.values_list("target_number", flat=True)
    # A user nobody routes to: renaming a queue agent also changes the queue's agent list.
    user = visible(connection, EntryKind.USER).exclude(number__in=referenced).first()
    sim.update("Users", user.external_id, {"FirstName": "Renamed"})
    removed_contact = visible(connection, EntryKind.CONTACT).order_by("external_id").last()
    sim.delete("Contacts", removed_contact.external_id)
    added = sim.add(
        "Contacts", {"FirstName": "New", "LastName": "Person", "Email": "new@example.com"}
    )
    run = run_sync(connection)
    assert (run.added, run.changed, run.removed) == (1, 1, 1)
    changes = {(c.kind, c.action): c for c in SyncChange.objects.filter(run=run)}
    assert changes["user", "changed"].fields["FirstName"] == [user.first_name, "Renamed"]
    assert changes["contact", "removed"].external_id == removed_contact.external_id
    assert changes["contact", "added"].external_id == added["Id"]
    assert (
        visible(connection, EntryKind.USER).get(external_id=user.external_id).first_name
        == "Renamed"
    )
    assert (
        not visible(connection, EntryKind.CONTACT)
        .filter(external_id=removed_contact.external_id)
        .exists()
    )
    assert (
        DirectoryEntry.objects.filter(connection=connection).count() == visible(connection).count()
    )
