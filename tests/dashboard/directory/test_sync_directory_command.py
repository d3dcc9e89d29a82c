"""manage.py sync_directory CONNECTION_ID [--wait] [--inline]."""

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dashboard.directory.models import EntryKind, SyncRun
from dashboard.directory.services import sync_run_cancel
from dashboard.directory.sync import sync_run_execute
from dashboard.directory.tasks import directory_sync
from tests.dashboard.directory.syncing import fast_client_factory, run_created, visible

pytestmark = pytest.mark.django_db

#: Poll often, and fail rather than hang should the run never end.
QUICKLY = ("--poll-interval", "0.01", "--timeout", "20")


def sync_directory(*args: str) -> str:
    out = StringIO()
    call_command("sync_directory", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def worker_in_this_process(monkeypatch) -> None:
    """Tasks run as soon as they are sent, as if a worker had picked them up at once."""

    def apply_async(args, countdown=None, **options):
        sync_run_execute(run_id=args[0], worker="tests", client_factory=fast_client_factory())

    monkeypatch.setattr(directory_sync, "apply_async", apply_async)


def test_inline_runs_the_sync_in_this_process_and_prints_progress_and_result(
    simulator, connection, enqueued
):
    output = sync_directory(str(connection.pk), "--inline")
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.worker.startswith("manage.py sync_directory")
    assert enqueued == []  # no worker involved
    users, contacts = simulator.simulator.config.users, simulator.simulator.config.contacts
    total = visible(connection).count()
    new_kinds = (
        EntryKind.INBOUND_RULE,
        EntryKind.OUTBOUND_RULE,
        EntryKind.DID,
        EntryKind.SIP_DEVICE,
    )
    audit_kinds = [(kind, visible(connection, kind).count()) for kind in new_kinds]
    assert output.splitlines() == [
        f"Running sync {run.pk} of Main PBX in this process.",
        f"  User: {users} of {users}, done",
        "  Department: 4 of 4, done",
        f"  Contact: {contacts} of {contacts}, done",
        "  Queue: 3 of 3, done",
        "  Ring group: 3 of 3, done",
        "  IVR: 2 of 2, done",
        "  Trunk: 3 of 3, done",
        "  Parking: 2 of 2, done",
        *(f"  {kind.label}: {n} of {n}, done" for kind, n in audit_kinds),
        f"Sync {run.pk} succeeded: {total} added, 0 changed, 0 removed.",
    ]


def test_inline_exits_non_zero_with_the_runs_error_when_the_sync_fails(simulator, connection_to):
    connection = connection_to(simulator, client_secret="wrong")
    with pytest.raises(CommandError, match=r"failed: Authentication failed: ") as failure:
        sync_directory(str(connection.pk), "--inline")
    run = SyncRun.objects.get()
    assert str(failure.value) == f"Sync {run.pk} failed: {run.error}"


def test_by_default_it_queues_the_sync_for_a_worker_and_prints_the_run_id(
    connection, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = sync_directory(str(connection.pk))
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.QUEUED
    assert output == f"Queued sync {run.pk} of Main PBX.\n"
    assert enqueued == [(str(run.pk), None)]


def test_it_reports_the_run_already_queued_instead_of_starting_another(connection, enqueued):
    queued = run_created(connection)
    output = sync_directory(str(connection.pk))
    assert output == f"Sync {queued.pk} of Main PBX is already queued; not starting another.\n"
    assert SyncRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # tasks are sent while the command waits
def test_wait_follows_the_run_a_worker_carries_out_to_its_result(
    connection, worker_in_this_process
):
    output = sync_directory(str(connection.pk), "--wait", *QUICKLY)
    run = SyncRun.objects.get()
    lines = output.splitlines()
    assert lines[0] == f"Queued sync {run.pk} of Main PBX."
    assert "  Contact: 120 of 120, done" in lines
    assert lines[-1].startswith(f"Sync {run.pk} succeeded: ")


@pytest.mark.django_db(transaction=True)  # tasks are sent while the command waits
def test_wait_exits_non_zero_when_the_run_fails(simulator, connection_to, worker_in_this_process):
    connection = connection_to(simulator, client_secret="wrong")
    with pytest.raises(CommandError, match=r"^Sync .* failed: Authentication failed: "):
        sync_directory(str(connection.pk), "--wait", *QUICKLY)


def test_wait_gives_up_after_the_timeout_and_says_the_sync_carries_on(connection, enqueued):
    with pytest.raises(CommandError, match=r"is still queued after 0.2 s; it carries on"):
        sync_directory(str(connection.pk), "--wait", "--timeout", "0.2", "--poll-interval", "0.05")


@pytest.mark.django_db(transaction=True)  # tasks are sent while the command waits
def test_wait_exits_non_zero_when_the_run_is_cancelled(connection, monkeypatch):
    def apply_async(args, countdown=None, **options):
        sync_run_cancel(run=SyncRun.objects.get(pk=args[0]))  # Cancel, pressed in the UI

    monkeypatch.setattr(directory_sync, "apply_async", apply_async)
    with pytest.raises(CommandError, match=r"^Sync .* cancelled: Cancelled before it started\.$"):
        sync_directory(str(connection.pk), "--wait", *QUICKLY)


def test_inline_follows_a_run_a_worker_is_already_running(connection):
    running = run_created(connection, status="running", heartbeat_at=timezone.now(), worker="w1")
    with pytest.raises(CommandError, match=r"is still running after 0.1 s"):
        sync_directory(
            str(connection.pk), "--inline", "--timeout", "0.1", "--poll-interval", "0.02"
        )
    running.refresh_from_db()
    assert running.status == SyncRun.Status.RUNNING  # left to its worker


def test_an_unknown_connection_id_is_a_clear_error(db):
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"^There is no 3CX connection with id {missing}.$"):
        sync_directory(str(missing))


def test_a_malformed_connection_id_is_a_clear_error(db):
    with pytest.raises(CommandError, match=r"^'42' is not a connection id: expected a UUID"):
        sync_directory("42")
