"""The safety net for mass removals: a run that would remove too much waits for a review."""

import pytest

from dashboard.directory.models import DirectoryState, EntryKind, SyncChange, SyncRun
from dashboard.directory.services import (
    sync_review_apply,
    sync_review_discard,
    sync_review_threshold_update,
    sync_run_request,
)
from dashboard.directory.sync import sync_run_execute
from dashboard.directory.tasks import directory_sync_scheduled
from dashboard.tenants.models import Activity
from tests.dashboard.directory.syncing import (
    fast_client_factory,
    leftovers,
    run_created,
    snapshot,
    sync_now,
    visible,
)

pytestmark = pytest.mark.django_db

CONTACTS = 120  # the simulator's


def contacts_deleted(simulator, connection, count: int) -> list[int]:
    ids = list(
        visible(connection, EntryKind.CONTACT)
        .order_by("external_id")
        .values_list("external_id", flat=True)[:count]
    )
    for external_id in ids:
        simulator.simulator.delete("Contacts", external_id)
    return ids


@pytest.fixture
def synced(simulator, connection):
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED
    return connection


@pytest.fixture
def held(simulator, synced, admin) -> SyncRun:
    """A run that would remove 60 of 120 contacts (more than 10 % and more than 50)."""
    contacts_deleted(simulator, synced, 60)
    run = sync_now(synced)
    assert run.status == SyncRun.Status.NEEDS_REVIEW, run.error
    return run


def test_a_run_removing_more_than_the_threshold_is_held_and_the_directory_stays(simulator, synced):
    before = snapshot(synced)
    simulator.simulator.add("Contacts", {"FirstName": "New", "LastName": "Comer"})
    contacts_deleted(simulator, synced, 60)

    run = sync_now(synced)

    assert run.status == SyncRun.Status.NEEDS_REVIEW
    assert (run.added, run.removed) == (1, 60)
    assert snapshot(synced) == before
    assert visible(synced, EntryKind.CONTACT).count() == CONTACTS
    removed = SyncChange.objects.filter(run=run, action=SyncChange.Action.REMOVED)
    assert removed.count() == 60
    assert Activity.objects.filter(
        action="directory.sync_held_for_review", details__run=str(run.pk)
    ).exists()


def test_removals_within_the_threshold_switch_as_before(simulator, synced):
    contacts_deleted(simulator, synced, 50)  # more than 10 %, but not more than 50
    run = sync_now(synced)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert visible(synced, EntryKind.CONTACT).count() == CONTACTS - 50


def test_the_threshold_is_the_connections_own(simulator, synced):
    sync_review_threshold_update(connection=synced, percent=5, count=3)
    contacts_deleted(simulator, synced, 7)  # 5.8 % and more than 3
    assert sync_now(synced).status == SyncRun.Status.NEEDS_REVIEW


def test_a_first_sync_is_never_held(simulator, connection):
    sync_review_threshold_update(connection=connection, percent=0, count=0)
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED


def test_a_run_whose_removals_were_confirmed_switches_however_much_it_removes(simulator, synced):
    contacts_deleted(simulator, synced, 100)
    run = sync_run_execute(
        run_id=run_created(synced, confirm_removals=True).pk,
        worker="tests",
        client_factory=fast_client_factory(),
    )
    assert run.status == SyncRun.Status.SUCCEEDED
    assert visible(synced, EntryKind.CONTACT).count() == CONTACTS - 100


def test_applying_a_held_run_switches_to_its_generation_with_its_change_records(
    simulator, synced, held, admin
):
    generation = DirectoryState.objects.get(connection=synced).generation

    assert sync_review_apply(run=held, actor=admin)

    held.refresh_from_db()
    assert held.status == SyncRun.Status.SUCCEEDED
    state = DirectoryState.objects.get(connection=synced)
    assert (state.generation, state.last_run_id) == (generation + 1, held.pk)
    assert state.counts[EntryKind.CONTACT] == CONTACTS - 60
    assert visible(synced, EntryKind.CONTACT).count() == CONTACTS - 60
    assert SyncChange.objects.filter(run=held, action="removed").count() == 60
    assert leftovers(synced) == 0
    assert Activity.objects.filter(action="directory.sync_review_applied", actor=admin).exists()
    assert not sync_review_apply(run=held, actor=admin)  # once only


def test_discarding_a_held_run_drops_its_rows_and_keeps_the_directory(
    simulator, synced, held, admin
):
    before = snapshot(synced)

    assert sync_review_discard(run=held, actor=admin)

    held.refresh_from_db()
    assert held.status == SyncRun.Status.DISCARDED
    assert snapshot(synced) == before
    assert leftovers(synced) == 0
    assert not SyncChange.objects.filter(run=held).exists()
    assert Activity.objects.filter(action="directory.sync_review_discarded", actor=admin).exists()
    assert not sync_review_apply(run=held, actor=admin)


def test_a_newer_sync_supersedes_a_held_one_and_is_judged_on_its_own(simulator, synced, held):
    newer = sync_now(synced)

    held.refresh_from_db()
    assert held.status == SyncRun.Status.DISCARDED
    assert str(newer.pk) in held.error
    assert not SyncChange.objects.filter(run=held).exists()
    # The server still lacks the 60 contacts: the newer run is held in its turn.
    assert newer.status == SyncRun.Status.NEEDS_REVIEW
    assert visible(synced, EntryKind.CONTACT).count() == CONTACTS
    assert leftovers(synced) == 60  # the newer run's retirements, and nothing of `held`'s


def test_scheduled_and_retry_syncs_do_not_pile_up_while_one_awaits_review(synced, held, enqueued):
    directory_sync_scheduled(connection_id=str(synced.pk))
    run, created = sync_run_request(connection=synced, trigger=SyncRun.Trigger.RETRY, attempt=2)

    assert (run, created) == (held, False)
    assert enqueued == []
    assert SyncRun.objects.filter(connection=synced).count() == 2  # the first sync and `held`


def test_someone_asking_for_a_sync_while_one_awaits_review_gets_a_new_run(
    synced, held, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, created = sync_run_request(connection=synced, confirm_removals=True)
    assert created and run.confirm_removals
    assert enqueued == [(str(run.pk), None)]
