"""A directory sync is a job like the others: beat's one stale sweep and purge serve it, the
sync's own way (what a dead run wrote is discarded; its change history is kept)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.directory.models import SyncChange, SyncRun
from dashboard.directory.sync import sync_run_execute
from dashboard.jobs.models import Job
from dashboard.jobs.runner import job_expire_if_stale, job_models
from dashboard.jobs.tasks import jobs_mark_stale, jobs_purge_finished
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from tests.dashboard.directory.syncing import (
    WorkerKilled,
    leftovers,
    on_page,
    quiet_users,
    run_created,
    snapshot,
    sync_now,
)
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import simulator  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

PAGE = 50
STALE_AFTER = 60
DAY = 24 * 60 * 60


@pytest.fixture(autouse=True)
def settings_for_syncs(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.DIRECTORY_SYNC_STALE_AFTER = STALE_AFTER
    settings.JOB_STALE_AFTER = STALE_AFTER
    settings.JOB_RETENTION_DAYS = 30


@pytest.fixture
def synced(organization, simulator):  # noqa: F811 - a fixture
    """A connection to the simulator, synced once: the directory users see."""
    connection = connection_save(
        connection=ThreeCXConnection(
            organization=organization,
            name="Synced PBX",
            base_url=simulator.base_url,
            client_id=CLIENT_ID,
        ),
        client_secret=CLIENT_SECRET,
    )
    assert sync_now(connection, page_size=PAGE).status == SyncRun.Status.SUCCEEDED
    return connection


@pytest.fixture
def dead_run(simulator, synced) -> SyncRun:  # noqa: F811 - a fixture
    """A second sync whose worker died in the middle of the contacts, its heartbeat old: left
    running, with rows of a generation nobody sees yet."""
    (user,) = quiet_users(synced, 1)
    simulator.simulator.update("Users", user.external_id, {"EmailAddress": "moved@example.com"})
    run = run_created(synced)

    def die() -> None:
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        sync_run_execute(run_id=run.pk, client_factory=on_page("Contacts", 2, die, page_size=PAGE))
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=STALE_AFTER + 1)
    )
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    assert leftovers(synced) > 0
    return run


def test_it_counts_sync_runs_among_the_job_models():
    assert SyncRun in job_models()
    assert issubclass(SyncRun, Job)


def test_the_one_stale_sweep_discards_what_a_dead_sync_wrote(synced, dead_run):
    before = snapshot(synced)

    assert jobs_mark_stale() == 1

    dead_run.refresh_from_db()
    assert dead_run.status == SyncRun.Status.FAILED
    assert "previous directory was kept" in dead_run.error
    assert leftovers(synced) == 0
    assert snapshot(synced) == before
    assert not SyncChange.objects.filter(run=dead_run).exists()


def test_a_page_polling_a_dead_sync_discards_what_it_wrote_too(synced, dead_run):
    before = snapshot(synced)

    assert job_expire_if_stale(dead_run)

    assert dead_run.status == SyncRun.Status.FAILED
    assert leftovers(synced) == 0
    assert snapshot(synced) == before


def test_a_retry_due_later_is_not_stale_however_long_ago_it_was_queued(synced):
    retry = run_created(
        synced,
        trigger=SyncRun.Trigger.RETRY,
        scheduled_for=timezone.now() + timedelta(hours=1),
    )
    SyncRun.objects.filter(pk=retry.pk).update(created_at=timezone.now() - timedelta(hours=2))

    assert jobs_mark_stale() == 0
    retry.refresh_from_db()
    assert retry.status == SyncRun.Status.QUEUED
    assert not job_expire_if_stale(retry)


def test_the_purge_keeps_sync_runs_and_their_changes_however_old(simulator, synced):  # noqa: F811
    (user,) = quiet_users(synced, 1)
    simulator.simulator.update("Users", user.external_id, {"EmailAddress": "moved@example.com"})
    assert sync_now(synced, page_size=PAGE).changed == 1
    long_ago = timezone.now() - timedelta(days=400)
    SyncRun.objects.update(finished_at=long_ago, created_at=long_ago)
    runs, changes = SyncRun.objects.count(), SyncChange.objects.count()
    assert runs == 2 and changes == 1

    jobs_purge_finished()

    assert SyncRun.objects.count() == runs
    assert SyncChange.objects.count() == changes
