"""Runs whose worker died: detected by their old heartbeat, failed, and cleaned up."""

import threading
from datetime import timedelta

import pytest
from django.db import connection as database
from django.utils import timezone

from dashboard.directory.models import DirectoryEntry, SyncChange, SyncRun
from dashboard.directory.services import sync_run_request
from dashboard.directory.sync import sync_run_execute, sync_runs_mark_stale
from tests.dashboard.directory.syncing import (
    WorkerKilled,
    duplicates,
    leftovers,
    on_page,
    quiet_users,
    run_created,
    snapshot,
    sync_now,
    visible,
)

pytestmark = pytest.mark.django_db

PAGE = 50
STALE_AFTER = 60


@pytest.fixture(autouse=True)
def stale_after(settings) -> int:
    settings.DIRECTORY_SYNC_STALE_AFTER = STALE_AFTER
    return STALE_AFTER


def age(run: SyncRun, seconds: float) -> None:
    """Make the run's last heartbeat `seconds` old."""
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.fixture
def killed_run(simulator, connection) -> SyncRun:
    """A second sync whose worker died on the second page of contacts, after writing the
    changed user and the first page: left running, its unfinished rows in the table."""
    sync_now(connection, page_size=PAGE)
    (user,) = quiet_users(connection, 1)
    simulator.simulator.update("Users", user.external_id, {"EmailAddress": "moved@example.com"})
    simulator.simulator.add("Contacts", {"FirstName": "Late", "LastName": "Arrival"})
    run = run_created(connection)

    def die() -> None:
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        sync_run_execute(
            run_id=run.pk,
            worker="doomed",
            client_factory=on_page("Contacts", 2, die, page_size=PAGE),
        )
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    assert leftovers(connection) > 0
    return run


def test_a_killed_run_leaves_what_users_see_untouched(simulator, connection, killed_run):
    assert DirectoryEntry.objects.filter(email="moved@example.com").exists()  # written, unseen
    assert not visible(connection).filter(email="moved@example.com").exists()
    assert visible(connection, "user").count() == simulator.simulator.config.users
    assert visible(connection, "contact").count() == simulator.simulator.config.contacts


def test_a_running_run_whose_heartbeat_is_old_is_marked_failed_and_cleaned_up(
    connection, killed_run
):
    before = snapshot(connection)
    age(killed_run, STALE_AFTER + 1)
    assert sync_runs_mark_stale() == 1
    killed_run.refresh_from_db()
    assert killed_run.status == SyncRun.Status.FAILED
    assert "stopped responding" in killed_run.error
    assert "previous directory was kept" in killed_run.error
    assert not killed_run.error_permanent  # the next sync may well succeed
    assert killed_run.finished_at is not None
    assert leftovers(connection) == 0
    assert snapshot(connection) == before
    assert not SyncChange.objects.filter(run=killed_run).exists()


def test_a_run_with_a_recent_heartbeat_is_not_stale(connection, killed_run):
    age(killed_run, STALE_AFTER - 5)
    assert sync_runs_mark_stale() == 0
    killed_run.refresh_from_db()
    assert killed_run.status == SyncRun.Status.RUNNING


def test_a_new_request_fails_the_stale_run_and_the_new_run_duplicates_nothing(
    connection, killed_run, enqueued
):
    age(killed_run, STALE_AFTER + 1)
    run, created = sync_run_request(connection=connection)
    assert created
    killed_run.refresh_from_db()
    assert killed_run.status == SyncRun.Status.FAILED

    run = sync_run_execute(run_id=run.pk, worker="tests")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.added, run.changed, run.removed) == (1, 1, 0)
    assert duplicates(connection) == {}
    assert DirectoryEntry.objects.filter(connection=connection).count() == (
        visible(connection).count()
    )
    assert visible(connection, "user").filter(email="moved@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_declared_dead_that_wakes_up_leaves_the_next_run_alone(simulator, connection):
    sync_now(connection, page_size=PAGE)
    (user,) = quiet_users(connection, 1)
    simulator.simulator.update("Users", user.external_id, {"EmailAddress": "moved@example.com"})
    on_second_page = PAGE + 10  # contact ids count from 1
    simulator.simulator.update("Contacts", on_second_page, {"LastName": "Moved"})
    second_paused, second_resume = threading.Event(), threading.Event()
    second: dict[str, object] = {}

    def second_worker(run_id) -> None:
        def pause() -> None:
            second_paused.set()
            second_resume.wait(timeout=20)

        try:
            second["run"] = sync_run_execute(
                run_id=run_id,
                worker="second",
                client_factory=on_page("Contacts", 1, pause, page_size=PAGE),
            )
        finally:
            database.close()

    def stall() -> None:
        # The first worker hangs longer than DIRECTORY_SYNC_STALE_AFTER (frozen container,
        # network stall): the next request declares it dead and a second worker starts the
        # next run. That one has written the changed user when the first worker wakes up
        # and writes the second page of contacts, which has a change too.
        age(first, STALE_AFTER + 1)
        run, created = sync_run_request(connection=connection, enqueue=False)
        assert created
        thread = threading.Thread(target=second_worker, args=(run.pk,))
        thread.start()
        second["thread"] = thread
        assert second_paused.wait(timeout=20)

    first = run_created(connection)
    sync_run_execute(
        run_id=first.pk,
        worker="first",
        client_factory=on_page("Contacts", 2, stall, page_size=PAGE),
    )
    second_resume.set()
    second["thread"].join(timeout=20)

    assert second["run"].status == SyncRun.Status.SUCCEEDED, second["run"].error
    assert (second["run"].added, second["run"].changed) == (0, 2)
    assert visible(connection, "user").get(external_id=user.external_id).email == (
        "moved@example.com"
    )
    assert visible(connection, "contact").get(external_id=on_second_page).last_name == "Moved"
    first.refresh_from_db()
    assert first.status == SyncRun.Status.FAILED
    assert "stopped responding" in first.error
    assert leftovers(connection) == 0
    assert duplicates(connection) == {}
