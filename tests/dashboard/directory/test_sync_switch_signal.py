"""The directory announces each new visible generation, and nothing else, to the apps built
on it (the audit reports listen)."""

import pytest

from dashboard.directory.models import EntryKind, SyncRun
from dashboard.directory.services import sync_review_apply
from dashboard.directory.signals import directory_switched
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db


@pytest.fixture
def switches():
    received: list[tuple[object, int]] = []

    def receiver(*, connection, generation, **kwargs):
        received.append((connection.pk, generation))

    directory_switched.connect(receiver, dispatch_uid="test_switches")
    yield received
    directory_switched.disconnect(dispatch_uid="test_switches")


def test_a_successful_sync_announces_its_generation_once_committed(
    simulator, connection, switches, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run = sync_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert switches == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert switches == [(connection.pk, run.generation)]


def test_a_failed_sync_announces_nothing(
    simulator, connection, switches, django_capture_on_commit_callbacks
):
    simulator.simulator.faults.add(Fault(match="^/xapi/v1/Users", kind="status", status=403))
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_now(connection).status == SyncRun.Status.FAILED
    assert switches == []


def test_applying_a_held_sync_announces_it(
    simulator, connection, admin, switches, django_capture_on_commit_callbacks
):
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED
    contacts = visible(connection, EntryKind.CONTACT).values_list("external_id", flat=True)
    for external_id in list(contacts[:60]):
        simulator.simulator.delete("Contacts", external_id)
    held = sync_now(connection)
    assert held.status == SyncRun.Status.NEEDS_REVIEW

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_review_apply(run=held, actor=admin)
    assert switches == [(connection.pk, held.generation)]
