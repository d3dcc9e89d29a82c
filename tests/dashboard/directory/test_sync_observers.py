"""Apps built on the directory may observe what a sync writes, page by page (the audit
reports have its phone numbers judged meanwhile); an observer never stops a sync."""

from dataclasses import dataclass, field

import pytest

from dashboard.directory.models import DirectoryState, EntryKind, SyncRun
from dashboard.directory.sync import sync_started
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db


@dataclass
class Observer:
    fail: bool = False
    written: dict[str, list] = field(default_factory=dict)
    closed: list[tuple[bool, int]] = field(default_factory=list)

    def entries_written(self, *, kind, entries):
        if self.fail:
            raise RuntimeError("observer bug")
        self.written.setdefault(kind, []).extend(entries)

    def close(self, *, completed):
        # The generation visible when the observer is closed.
        self.closed.append((completed, DirectoryState.objects.get().generation))


@dataclass
class Observers:
    """A `sync_started` receiver: one observer per run (failing ones when `failing`)."""

    made: list[Observer] = field(default_factory=list)
    failing: bool = False
    refusing: bool = False

    def receive(self, *, run, **kwargs) -> Observer:
        if self.refusing:
            raise RuntimeError("receiver bug")
        self.made.append(Observer(fail=self.failing))
        return self.made[-1]


@pytest.fixture
def observers():
    receiver = Observers()
    sync_started.connect(receiver.receive, dispatch_uid="test_observers", weak=False)
    yield receiver
    sync_started.disconnect(dispatch_uid="test_observers")


def test_an_observer_hears_of_every_entry_written_and_is_closed_before_the_switch(
    simulator, connection, observers
):
    run = sync_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    [observer] = observers.made
    assert observer.closed == [(True, run.generation - 1)]  # before the switch
    contacts = observer.written[EntryKind.CONTACT]
    assert {entry.columns["external_id"] for entry in contacts} == set(
        visible(connection, EntryKind.CONTACT).values_list("external_id", flat=True)
    )
    assert all(entry.data["Id"] == entry.columns["external_id"] for entry in contacts)

    again = sync_now(connection)  # nothing changed: nothing written
    assert again.status == SyncRun.Status.SUCCEEDED
    assert observers.made[1].written == {}
    assert observers.made[1].closed == [(True, again.generation - 1)]


def test_an_observer_that_fails_is_dropped_and_the_sync_goes_on(
    simulator, connection, observers, caplog
):
    observers.failing = True
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED
    [observer] = observers.made
    assert observer.closed == [(False, 0)]
    assert "an observer failed and was dropped" in caplog.text


def test_a_receiver_that_fails_leaves_the_sync_be(simulator, connection, observers, caplog):
    observers.refusing = True
    assert sync_now(connection).status == SyncRun.Status.SUCCEEDED
    assert observers.made == []
    assert "receiver bug" in caplog.text


def test_a_sync_that_fails_closes_its_observers_as_not_completed(simulator, connection, observers):
    simulator.simulator.faults.add(Fault(match="^/xapi/v1/Groups", kind="status", status=403))
    assert sync_now(connection).status == SyncRun.Status.FAILED
    [observer] = observers.made
    assert observer.closed == [(False, 0)]
    assert observer.written[EntryKind.USER]  # users came first, and were heard of
