"""A worker SIGKILLed in the middle of a connection test: the check is found stale, and the
fragment stops polling with a message saying what happened.

A module of its own: its worker must not share the task queue with another module's."""

from datetime import timedelta

import pytest
from django.urls import reverse

from dashboard.connections.models import ConnectionCheck
from integrations.threecx.simulator import Fault
from tests.workers import sleep_until, wait_until, worker_kill

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

HTMX = {"HX-Request": "true"}


def test_a_check_whose_worker_is_killed_fails_as_stale_and_stops_polling(
    simulator, connection_to, organization, admin, client_for, simulator_worker, settings
):
    connection = connection_to(simulator)
    worker = simulator_worker()
    # The worker gets its token and version, then waits on SystemStatus until killed.
    hang = simulator.simulator.faults.add(Fault(match="SystemStatus", kind="latency", delay=30))
    client = client_for(admin)
    client.post(reverse("connection_test", args=[organization.pk, connection.pk]), headers=HTMX)
    wait_until(
        lambda: simulator.simulator.faults.fired(hang) >= 1,
        what="the worker never got to the server",
    )
    check = ConnectionCheck.objects.get()
    assert check.status == ConnectionCheck.Status.RUNNING
    assert check.worker  # which worker had it, for whoever investigates

    worker_kill(worker)  # SIGKILL, pool processes included: nothing can finish the row
    status_url = reverse("connection_check_status", args=[organization.pk, connection.pk, check.pk])
    still = client.get(status_url, headers=HTMX)
    assert still.status_code == 200  # nobody can tell yet
    assert "Asking the 3CX server" in still.text

    settings.JOB_STALE_AFTER = 1
    sleep_until(check.heartbeat_at + timedelta(seconds=1.1))
    ended = client.get(status_url, headers=HTMX)
    assert ended.status_code == 286  # polling stops
    assert "The worker stopped." in ended.text
    assert "stopped responding" in ended.text
    check.refresh_from_db()
    assert check.status == ConnectionCheck.Status.FAILED
    assert check.finished_at is not None
