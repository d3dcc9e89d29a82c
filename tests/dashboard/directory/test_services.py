"""Requesting, cancelling, retrying and scheduling syncs (dashboard.directory.services)."""

import json
import threading

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as database
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError

from dashboard.directory.models import DirectoryState, SyncChange, SyncInterval, SyncRun
from dashboard.directory.services import (
    sync_retry_schedule,
    sync_run_cancel,
    sync_run_request,
    sync_schedule_update,
)
from dashboard.directory.sync import sync_run_execute
from dashboard.directory.tasks import directory_sync, directory_sync_scheduled
from integrations.threecx.services import connection_check, connection_save
from integrations.threecx.simulator import Fault
from tests.dashboard.directory.syncing import (
    fast_client_factory,
    leftovers,
    on_page,
    quiet_users,
    run_created,
    snapshot,
    sync_now,
    visible,
)
from tests.integrations.threecx.clients import CLIENT_SECRET

pytestmark = pytest.mark.django_db

PAGE = 50  # the simulator has 120 contacts: three pages


# --- one run at a time -------------------------------------------------------------------------


def test_a_request_queues_a_run_and_sends_its_task_once_the_transaction_commits(
    connection, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, created = sync_run_request(connection=connection)
        assert enqueued == []
    assert created
    assert (run.status, run.trigger, run.attempt) == ("queued", "manual", 1)
    assert enqueued == [(str(run.pk), None)]


def test_a_second_request_while_one_is_queued_returns_that_run(
    connection, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = sync_run_request(connection=connection)
        second, created = sync_run_request(connection=connection)
    assert not created
    assert second == first
    assert len(enqueued) == 1


def test_a_second_request_while_one_is_running_returns_that_run(connection, enqueued):
    running = run_created(connection, status="running", heartbeat_at=timezone.now())
    run, created = sync_run_request(connection=connection)
    assert not created
    assert run == running
    assert SyncRun.objects.count() == 1


def test_a_request_after_the_last_run_ended_starts_a_new_one(connection, enqueued):
    finished = run_created(connection, status="succeeded")
    run, created = sync_run_request(connection=connection)
    assert created
    assert run != finished


def test_a_run_whose_task_the_broker_refused_fails_instead_of_blocking_later_requests(
    connection, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(args, countdown=None, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(directory_sync, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        lost, created = sync_run_request(connection=connection)
    assert created
    lost.refresh_from_db()
    assert lost.status == SyncRun.Status.FAILED
    assert lost.error.startswith("The sync could not be handed to a worker")
    assert not lost.error_permanent
    monkeypatch.undo()

    run, created = sync_run_request(connection=connection, enqueue=False)
    assert created
    assert run != lost


def test_the_database_refuses_a_second_active_run_for_a_connection(connection):
    run_created(connection)
    with pytest.raises(IntegrityError), transaction.atomic():
        run_created(connection, status="running")


@pytest.mark.postgres  # SQLite's shared in-memory test database fails concurrent writers at once
@pytest.mark.django_db(transaction=True)
def test_many_requests_at_the_same_moment_give_exactly_one_run(connection, enqueued):
    threads = 8
    start = threading.Barrier(threads)
    answers, failures = [], []

    def request() -> None:
        try:
            start.wait(timeout=10)
            answers.append(sync_run_request(connection=connection))
        except Exception as exc:  # reported below; a thread must not die silently
            failures.append(exc)
        finally:
            database.close()

    workers = [threading.Thread(target=request) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert failures == []
    assert SyncRun.objects.count() == 1
    run = SyncRun.objects.get()
    assert {answer.pk for answer, _ in answers} == {run.pk}
    assert sorted(created for _, created in answers) == [False] * (threads - 1) + [True]
    assert enqueued == [(str(run.pk), None)]


# --- cancel ----------------------------------------------------------------------------------


def test_cancelling_a_queued_run_ends_it_at_once_and_its_task_then_does_nothing(
    connection, enqueued
):
    run, _ = sync_run_request(connection=connection)
    run = sync_run_cancel(run=run, actor=None)
    assert run.status == SyncRun.Status.CANCELLED
    assert run.finished_at is not None
    assert run.error == "Cancelled before it started."
    run = sync_run_execute(run_id=run.pk, client_factory=fast_client_factory())
    assert run.status == SyncRun.Status.CANCELLED
    assert not visible(connection).exists()
    _, created = sync_run_request(connection=connection)
    assert created


def test_cancelling_a_running_run_stops_it_at_the_next_page_and_keeps_the_previous_directory(
    simulator, connection
):
    sync_now(connection, page_size=PAGE)
    (user,) = quiet_users(connection, 1)
    simulator.simulator.update("Users", user.external_id, {"EmailAddress": "new@example.com"})
    simulator.simulator.add("Contacts", {"FirstName": "Not", "LastName": "Yet"})
    before = snapshot(connection)
    run = run_created(connection)
    requested = simulator.simulator.request_count(r"^/xapi/v1/Contacts$")

    def cancel() -> None:
        assert sync_run_cancel(run=run).cancel_requested

    run = sync_run_execute(
        run_id=run.pk, worker="tests", client_factory=on_page("Contacts", 2, cancel, page_size=PAGE)
    )
    assert run.status == SyncRun.Status.CANCELLED
    assert run.error == "Cancelled."
    assert run.error_permanent  # a cancelled run is not retried
    assert simulator.simulator.request_count(r"^/xapi/v1/Contacts$") - requested == 2
    assert run.progress["contact"]["done"] is False
    assert run.progress["user"]["done"] is True  # the changed user was written, then dropped
    assert snapshot(connection) == before
    assert leftovers(connection) == 0
    assert not SyncChange.objects.filter(run=run).exists()


# --- retries after a failed run --------------------------------------------------------------


@pytest.fixture
def retry_delays(settings) -> list[int]:
    settings.DIRECTORY_SYNC_RETRY_DELAYS = [60, 300]
    return settings.DIRECTORY_SYNC_RETRY_DELAYS


def test_a_transient_failure_queues_a_retry_after_the_first_delay(
    simulator, connection, enqueued, retry_delays, django_capture_on_commit_callbacks
):
    simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Users", status=503, retry_after=0))
    failed = sync_now(connection)
    assert (failed.status, failed.error_permanent) == ("failed", False)
    with django_capture_on_commit_callbacks(execute=True):
        retry = sync_retry_schedule(run=failed)
    assert (retry.status, retry.trigger, retry.attempt) == ("queued", "retry", 2)
    assert enqueued == [(str(retry.pk), 60)]


def test_the_second_retry_waits_for_the_second_delay(
    connection, enqueued, retry_delays, django_capture_on_commit_callbacks
):
    failed = run_created(connection, status="failed", attempt=2, trigger="retry")
    with django_capture_on_commit_callbacks(execute=True):
        retry = sync_retry_schedule(run=failed)
    assert retry.attempt == 3
    assert enqueued == [(str(retry.pk), 300)]


def test_no_retry_follows_the_last_attempt(connection, enqueued, retry_delays):
    last = run_created(connection, status="failed", attempt=len(retry_delays) + 1)
    assert sync_retry_schedule(run=last) is None
    assert enqueued == []
    assert SyncRun.objects.count() == 1


def test_no_retry_follows_a_permanent_failure(simulator, connection_to, enqueued, retry_delays):
    failed = sync_now(connection_to(simulator, client_secret="wrong"))
    assert (failed.status, failed.error_permanent) == ("failed", True)
    assert sync_retry_schedule(run=failed) is None
    assert enqueued == []


@pytest.mark.parametrize("status", ["succeeded", "cancelled"])
def test_no_retry_follows_a_run_that_did_not_fail(connection, enqueued, retry_delays, status):
    assert sync_retry_schedule(run=run_created(connection, status=status)) is None
    assert enqueued == []


def test_the_sync_task_runs_the_sync_and_queues_the_retry_itself(
    simulator, connection, enqueued, retry_delays, django_capture_on_commit_callbacks
):
    # Retry-After: 0 keeps the task's own (production) retry policy instant.
    simulator.simulator.faults.add(Fault(match=r"^/xapi/v1/Contacts", status=503, retry_after=0))
    run = run_created(connection)
    with django_capture_on_commit_callbacks(execute=True):
        assert directory_sync(str(run.pk)) == "failed"
    retry = SyncRun.objects.get(trigger="retry")
    assert retry.attempt == 2
    assert enqueued == [(str(retry.pk), 60)]


# --- schedules -------------------------------------------------------------------------------


def scheduled_task(connection) -> PeriodicTask | None:
    return PeriodicTask.objects.filter(name=f"directory-sync-{connection.pk}").first()


def test_setting_an_interval_creates_the_beat_schedule(connection):
    state = sync_schedule_update(connection=connection, interval=SyncInterval.HOURLY)
    assert state.sync_interval == SyncInterval.HOURLY
    task = scheduled_task(connection)
    assert task.task == "directory.sync_scheduled"
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert json.loads(task.kwargs) == {"connection_id": str(connection.pk)}


def test_changing_the_interval_updates_the_same_beat_schedule(connection):
    sync_schedule_update(connection=connection, interval=SyncInterval.HOURLY)
    sync_schedule_update(connection=connection, interval=SyncInterval.EVERY_6_HOURS)
    assert PeriodicTask.objects.filter(task="directory.sync_scheduled").count() == 1
    assert scheduled_task(connection).interval.every == 6
    assert DirectoryState.objects.get(connection=connection).sync_interval == "6h"


def test_turning_the_schedule_off_deletes_it(connection):
    sync_schedule_update(connection=connection, interval=SyncInterval.DAILY)
    sync_schedule_update(connection=connection, interval=SyncInterval.OFF)
    assert scheduled_task(connection) is None
    assert DirectoryState.objects.get(connection=connection).sync_interval == "off"


def test_the_scheduled_task_queues_a_scheduled_sync(
    connection, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        directory_sync_scheduled(str(connection.pk))
    run = SyncRun.objects.get()
    assert run.trigger == SyncRun.Trigger.SCHEDULED
    assert enqueued == [(str(run.pk), None)]


def test_the_scheduled_task_skips_a_disabled_connection(connection, enqueued):
    connection.enabled = False
    connection.save()
    directory_sync_scheduled(str(connection.pk))
    assert not SyncRun.objects.exists()


def test_a_permanent_error_stops_scheduled_syncs_until_the_connection_is_edited(
    simulator, connection_to, enqueued
):
    connection = connection_to(simulator, client_secret="wrong")
    failed = sync_now(connection)
    connection.refresh_from_db()
    assert connection.last_error_permanent
    assert connection.last_error == failed.error
    directory_sync_scheduled(str(connection.pk))
    assert SyncRun.objects.count() == 1

    connection_save(connection=connection, client_secret=CLIENT_SECRET)
    directory_sync_scheduled(str(connection.pk))
    assert SyncRun.objects.filter(trigger="scheduled").count() == 1


def test_a_successful_check_lets_scheduled_syncs_run_again(simulator, connection, enqueued):
    # The API client was disabled in the 3CX console for a while, then enabled again.
    simulator.simulator.faults.add(Fault(match=r"^/connect/token$", status=401, times=1))
    assert sync_now(connection).error.startswith("Authentication failed")
    directory_sync_scheduled(str(connection.pk))
    assert SyncRun.objects.count() == 1

    assert connection_check(connection=connection).ok
    directory_sync_scheduled(str(connection.pk))
    assert SyncRun.objects.filter(trigger="scheduled").count() == 1
