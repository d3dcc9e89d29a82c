"""Storage browses as background jobs: logged, and ended when their worker is lost."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.storage.models import StorageBrowse
from dashboard.tenants.models import Activity

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def connection(simulator, connection_to):
    return connection_to(simulator)


@pytest.fixture(autouse=True)
def enqueued():
    with mock.patch("dashboard.storage.tasks.storage_browse_task.delay") as delay:
        yield delay


def test_browsing_is_written_to_the_activity_log(client_for, organization, viewer, connection):
    client_for(viewer).post(
        reverse("storage_browse", args=[organization.pk, connection.pk]),
        {"filesystem": "Logs", "path": "/var/lib/3cxpbx"},
        headers=HTMX,
    )
    entry = Activity.objects.get(action="storage.browsed")
    assert (entry.actor, entry.target_id) == (viewer, str(connection.pk))
    assert entry.details == {"filesystem": "Logs", "path": "/var/lib/3cxpbx", "advanced": False}


def test_the_log_never_holds_the_advanced_json(client_for, organization, admin, connection):
    typed = '{"Filesystem": "Sftp", "Path": "/", "Json": "{\\"password\\": \\"hunter2\\"}"}'
    client_for(admin).post(
        reverse("storage_browse_advanced", args=[organization.pk, connection.pk]),
        {"parameters": typed},
        headers=HTMX,
    )
    entry = Activity.objects.get(action="storage.browsed")
    assert entry.details == {"filesystem": "Sftp", "path": "/", "advanced": True}
    assert "hunter2" not in str(entry.details)


def test_a_browse_over_the_limit_is_not_logged(
    client_for, organization, viewer, connection, settings
):
    settings.STORAGE_BROWSE_PER_USER = 1
    client = client_for(viewer)
    url = reverse("storage_browse", args=[organization.pk, connection.pk])
    client.post(url, {"filesystem": "Logs"}, headers=HTMX)
    assert client.post(url, {"filesystem": "Logs"}, headers=HTMX).status_code == 429
    assert Activity.objects.filter(action="storage.browsed").count() == 1


def test_a_browse_whose_worker_stopped_ends_polling_with_a_clear_message(
    client_for, organization, viewer, connection, settings
):
    settings.JOB_STALE_AFTER = 60
    then = timezone.now() - timedelta(seconds=61)
    browse = StorageBrowse.objects.create(
        organization=organization, connection=connection, filesystem="Local"
    )
    StorageBrowse.objects.filter(pk=browse.pk).update(
        status="running", created_at=then, started_at=then, heartbeat_at=then
    )
    response = client_for(viewer).get(
        reverse("storage_browse_status", args=[organization.pk, connection.pk, browse.pk]),
        headers=HTMX,
    )
    assert response.status_code == 286
    assert "The worker stopped." in response.text
    assert "stopped responding" in response.text
    browse.refresh_from_db()
    assert browse.status == StorageBrowse.Status.FAILED
