"""End to end: calls asked for on the pages go through Redis to a real Celery worker process,
which writes to PostgreSQL and calls the simulator over loopback HTTP; the page's polling
ends with the answer.

A module of its own: its worker must not share the task queue with another module's."""

import pytest
from django.urls import reverse

from dashboard.console.models import XapiCall
from dashboard.tenants.models import Activity
from tests.dashboard.console.conftest import HTMX, USER_ID
from tests.workers import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def polled(client, url: str):
    """Poll the call's fragment as the page does, until it says the call has ended."""
    answers = []

    def ended() -> bool:
        answers.append(client.get(url, headers=HTMX))
        return answers[-1].status_code == 286

    wait_until(ended, what="the call never ended")
    return answers[-1]


def test_a_viewers_read_and_an_admins_write_are_sent_by_the_worker(
    simulator, connection, organization, viewer, admin, client_for, simulator_worker
):
    simulator_worker()
    client = client_for(viewer)
    client.post(
        reverse("console_run", args=[organization.pk, connection.pk, "GetUser"]),
        {"Id": str(USER_ID)},
        headers=HTMX,
    )
    read = XapiCall.objects.get()
    answer = polled(client, reverse("console_call", args=[organization.pk, connection.pk, read.pk]))
    assert "HTTP 200" in answer.text and "Download JSON" in answer.text
    read.refresh_from_db()
    assert read.status == XapiCall.Status.SUCCEEDED
    assert read.worker.startswith("tests-")

    client = client_for(admin)
    client.post(
        reverse("console_confirm", args=[organization.pk, connection.pk, "UpdateUser"]),
        {"Id": str(USER_ID), "body": '{"FirstName": "Grace"}'},
        headers=HTMX,
    )
    write = XapiCall.objects.get(is_write=True)
    answer = polled(
        client, reverse("console_call", args=[organization.pk, connection.pk, write.pk])
    )
    assert "HTTP 204" in answer.text
    assert simulator.simulator.get("Users", USER_ID)["FirstName"] == "Grace"
    entry = Activity.objects.get(action="xapi.write")
    assert (entry.actor, entry.details["status"]) == (admin, 204)
    assert entry.ip_address == "127.0.0.1"  # where the admin confirmed it
