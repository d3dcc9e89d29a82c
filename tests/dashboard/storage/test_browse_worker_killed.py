"""A worker SIGKILLed while it asks the PBX for a folder: the browse is found stale, and the
fragment stops polling with a message saying what happened.

A module of its own: its worker must not share the task queue with another module's."""

from datetime import timedelta

import pytest
from django.urls import reverse

from dashboard.storage.models import StorageBrowse
from integrations.threecx.simulator import Fault
from tests.workers import sleep_until, wait_until, worker_kill

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

HTMX = {"HX-Request": "true"}


def test_a_browse_whose_worker_is_killed_fails_as_stale_and_stops_polling(
    simulator, connection_to, organization, viewer, client_for, simulator_worker, settings
):
    connection = connection_to(simulator)
    worker = simulator_worker()
    hang = simulator.simulator.faults.add(Fault(match="GetDirectoryInfo", kind="latency", delay=30))
    client = client_for(viewer)
    client.post(
        reverse("storage_browse", args=[organization.pk, connection.pk]),
        {"filesystem": "Local", "path": ""},
        headers=HTMX,
    )
    wait_until(
        lambda: simulator.simulator.faults.fired(hang) >= 1,
        what="the worker never got to the server",
    )
    browse = StorageBrowse.objects.get()
    assert browse.status == StorageBrowse.Status.RUNNING

    worker_kill(worker)  # SIGKILL, pool processes included: nothing can finish the row
    status_url = reverse("storage_browse_status", args=[organization.pk, connection.pk, browse.pk])
    still = client.get(status_url, headers=HTMX)
    assert still.status_code == 200  # nobody can tell yet
    assert "Asking the PBX" in still.text

    settings.JOB_STALE_AFTER = 1
    sleep_until(browse.heartbeat_at + timedelta(seconds=1.1))
    ended = client.get(status_url, headers=HTMX)
    assert ended.status_code == 286  # polling stops
    assert "The worker stopped." in ended.text
    assert "stopped responding" in ended.text
    browse.refresh_from_db()
    assert browse.status == StorageBrowse.Status.FAILED
