"""Cancel with a real worker, on whatever database and broker the tests run with: the
zero-setup default (SQLite and the `sqla+sqlite` broker) or PostgreSQL and Redis.

A worker writing page after page must not keep the web process from recording the cancel:
the request answers while the run is still going, and the run ends Cancelled at its next
page with the previous directory untouched."""

import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryState, SyncRun
from dashboard.tenants.models import Activity
from tests.dashboard.directory.syncing import fetched, finished, requested, run_wait, visible

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 5000
PAGE = 500
TIMEOUT = 120


@pytest.fixture
def busy_connection(make_simulator, connection_to):
    """A server big enough that a sync writes for a while, in pages of PAGE rows."""
    return connection_to(make_simulator(users=200, contacts=CONTACTS))


@pytest.fixture
def worker(simulator_worker, monkeypatch):
    monkeypatch.setenv("THREECX_PAGE_SIZE", str(PAGE))
    return simulator_worker()


def test_cancel_takes_effect_within_a_page_while_a_worker_writes(
    busy_connection, worker, client_for, admin
):
    run = run_wait(requested(busy_connection), until=fetched("user", 1), timeout=TIMEOUT)
    url = reverse("sync_run_cancel", args=[run.organization_id, busy_connection.pk, run.pk])

    response = client_for(admin).post(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    run.refresh_from_db()
    assert run.cancel_requested, f"the cancel landed after the run ended {run.status}"
    contacts_when_asked = (run.progress.get("contact") or {}).get("fetched", 0)
    run = run_wait(run, until=finished, timeout=TIMEOUT)
    assert run.status == SyncRun.Status.CANCELLED
    assert run.progress["contact"]["fetched"] <= contacts_when_asked + 2 * PAGE
    assert not visible(busy_connection).exists()
    assert DirectoryState.objects.get(connection=busy_connection).generation == 0
    logged = set(Activity.objects.values_list("action", flat=True))
    assert {"directory.sync_cancel_requested", "directory.sync_cancelled"} <= logged


def test_a_cancel_that_comes_too_late_leaves_a_succeeded_run_and_no_cancelled_log(
    busy_connection, worker, client_for, admin
):
    run = run_wait(requested(busy_connection), until=finished, timeout=TIMEOUT)
    assert run.status == SyncRun.Status.SUCCEEDED
    url = reverse("sync_run_cancel", args=[run.organization_id, busy_connection.pk, run.pk])

    client_for(admin).post(url, headers={"HX-Request": "true"})

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert not Activity.objects.filter(action__startswith="directory.sync_cancel").exists()
