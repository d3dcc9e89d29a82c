"""Sync progress as recorded and shown: a total only when the server's count could be true."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from dashboard.directory.models import SyncRun
from dashboard.directory.progress import plausible_total, sync_run_progress_rows
from dashboard.directory.sync import sync_run_execute
from tests.dashboard.directory.syncing import on_page, run_created

pytestmark = pytest.mark.django_db

PAGE = 50


@pytest.mark.parametrize("count", ["negative", "huge", "missing"])
def test_a_count_that_cannot_be_true_is_recorded_as_no_total(make_simulator, connection_to, count):
    connection = connection_to(make_simulator(odata_count=count))
    run = run_created(connection)
    seen = []

    def look() -> None:
        seen.append(SyncRun.objects.get(pk=run.pk).progress["contact"])

    run = sync_run_execute(
        run_id=run.pk, worker="tests", client_factory=on_page("Contacts", 3, look, page_size=PAGE)
    )
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert seen == [{"fetched": 2 * PAGE, "total": None, "done": False}]
    assert run.progress["contact"] == {"fetched": 120, "total": 120, "done": True}


def progress_page(client, run: SyncRun) -> str:
    url = reverse("sync_run_progress", args=[run.organization_id, run.connection_id, run.pk])
    return client.get(url).text


@pytest.mark.parametrize("total", [-4548194217860088, 2**63 - 1, None, "12", 10])
def test_a_running_sync_without_a_believable_total_shows_rows_fetched(
    client_for, viewer, connection, total
):
    run = run_created(
        connection,
        status=SyncRun.Status.RUNNING,
        progress={
            "user": {"fetched": 30, "total": 30, "done": True},
            "contact": {"fetched": 40, "total": total, "done": False},
        },
    )
    page = progress_page(client_for(viewer), run)
    assert "40 fetched" in page
    assert "40 / " not in page
    assert "%" not in page.split('class="progress-header"')[1].split("</div>")[0]


def test_a_believable_total_shows_the_share_and_never_more_than_100_percent(
    client_for, viewer, connection
):
    run = run_created(
        connection,
        status=SyncRun.Status.RUNNING,
        progress={"contact": {"fetched": 500, "total": 1000, "done": False}},
    )
    page = progress_page(client_for(viewer), run)
    assert "500 / 1,000" in page and 'value="50"' in page
    rows, overall = sync_run_progress_rows(
        SyncRun(progress={"contact": {"fetched": 5000, "total": 1000, "done": False}})
    )
    assert rows[0].total is None and overall is None


@pytest.mark.parametrize(
    ("total", "fetched", "kept"),
    [(10, 5, 10), (5, 5, 5), (4, 5, None), (-1, 0, None), (2**63 - 1, 0, None), (True, 0, None)],
)
def test_only_a_total_that_could_be_true_is_kept(total, fetched, kept):
    assert plausible_total(total, fetched=fetched) == kept


def test_a_queued_retry_says_when_it_will_run(client_for, viewer, connection, settings):
    settings.DIRECTORY_SYNC_RETRY_DELAYS = [60, 300, 900]
    due = datetime(2026, 12, 2, 1, 15, tzinfo=UTC)
    run = run_created(connection, trigger=SyncRun.Trigger.RETRY, attempt=3, scheduled_for=due)
    page = progress_page(client_for(viewer), run)
    assert "Retry 2 of 3 at" in page and "01:15" in page
    assert "Waiting for a worker" not in page


def test_a_retry_run_records_when_it_is_due(connection, enqueued, retry_failed_run):
    retry = retry_failed_run
    assert retry.trigger == SyncRun.Trigger.RETRY and retry.scheduled_for is not None
    assert 55 <= (retry.scheduled_for - retry.created_at).total_seconds() <= 65


@pytest.fixture
def retry_failed_run(connection, settings):
    from dashboard.directory.services import sync_retry_schedule

    settings.DIRECTORY_SYNC_RETRY_DELAYS = [60, 300, 900]
    failed = run_created(connection, status=SyncRun.Status.FAILED, error_permanent=False)
    return sync_retry_schedule(run=failed)
