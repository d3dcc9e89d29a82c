"""Audits with a real worker, on whatever database and broker the tests run with: the
zero-setup default (SQLite and the `sqla+sqlite` broker) or PostgreSQL and Redis.

The worker syncs the simulator, audits the new directory by itself, and carries out a
"Re-run audit" asked for from the report page."""

import time

import pytest
from django.urls import reverse

from dashboard.reports.models import AuditRun, Finding
from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection,
    connection_to,
    simulator_allowed,
    simulator_worker,
)
from tests.dashboard.directory.syncing import synced_by_worker
from tests.integrations.threecx.conftest import simulator  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 120


def audit_finished(pbx, *, after: set | None = None) -> AuditRun:
    """Wait for an audit of the connection (other than those in `after`) to finish."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        runs = AuditRun.objects.filter(connection=pbx).exclude(pk__in=after or set())
        run = runs.order_by("-created_at").first()
        if run is not None and run.is_finished:
            return run
        if time.monotonic() > deadline:
            state = run.status if run else "not even requested"
            raise AssertionError(f"The audit is {state} after {TIMEOUT} s")
        time.sleep(0.1)


def test_a_worker_audits_each_new_directory_and_re_runs_on_request(
    connection,  # noqa: F811 - a fixture
    simulator_worker,  # noqa: F811 - a fixture
    client_for,
    admin,
):
    simulator_worker()
    synced_by_worker(connection, timeout=TIMEOUT)

    first = audit_finished(connection)
    assert first.status == AuditRun.Status.SUCCEEDED, first.error
    assert first.trigger == AuditRun.Trigger.SYNC and first.worker.startswith("tests-")
    assert Finding.objects.filter(connection=connection, rule="trunks.unregistered").exists()

    url = reverse("reports:audit_rerun", args=[connection.organization_id, connection.pk])
    assert client_for(admin).post(url).status_code in (200, 302)
    again = audit_finished(connection, after={first.pk})
    assert again.status == AuditRun.Status.SUCCEEDED, again.error
    assert again.trigger == AuditRun.Trigger.MANUAL and again.refreshed > 0
