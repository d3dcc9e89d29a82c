"""Connection tests as background jobs: logged, ended when their worker is lost or never
comes, and clearing the connection's stale "Last error" when they succeed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.connections.models import ConnectionCheck
from dashboard.connections.services import connection_check_execute
from dashboard.tenants.models import Activity
from integrations.threecx.models import ThreeCXConnection

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def connection(simulator, connection_to) -> ThreeCXConnection:
    return connection_to(simulator)


def status_url(check: ConnectionCheck) -> str:
    return reverse(
        "connection_check_status", args=[check.organization_id, check.connection_id, check.pk]
    )


def aged(check: ConnectionCheck, *, seconds: float, running: bool = False) -> ConnectionCheck:
    """Pretend the check was asked `seconds` ago (and, if `running`, claimed then by a worker
    that has not been heard of since)."""
    then = timezone.now() - timedelta(seconds=seconds)
    fields = {"created_at": then}
    if running:
        fields |= {"status": "running", "started_at": then, "heartbeat_at": then}
    ConnectionCheck.objects.filter(pk=check.pk).update(**fields)
    check.refresh_from_db()
    return check


def test_a_test_is_written_to_the_activity_log(client_for, organization, admin, connection):
    client_for(admin).post(
        reverse("connection_test", args=[organization.pk, connection.pk]), headers=HTMX
    )
    entry = Activity.objects.get(action="connection.tested")
    assert (entry.actor, entry.target_id, entry.target_label) == (
        admin,
        str(connection.pk),
        str(connection),
    )
    assert entry.ip_address == "127.0.0.1"


def test_a_successful_test_clears_the_stale_last_error_banner(
    client_for, organization, admin, connection
):
    ThreeCXConnection.objects.filter(pk=connection.pk).update(
        last_error="Connection failed: nobody answered.", last_error_at=timezone.now()
    )
    client = client_for(admin)
    page_url = reverse("connection_detail", args=[organization.pk, connection.pk])
    assert "nobody answered" in client.get(page_url).text
    client.post(reverse("connection_test", args=[organization.pk, connection.pk]), headers=HTMX)
    check = ConnectionCheck.objects.get()
    connection_check_execute(check_id=check.pk)

    finished = client.get(status_url(check), headers=HTMX)
    assert finished.status_code == 286
    assert "Connected." in finished.text
    # The banner on the page the user is looking at is replaced, empty, with the result...
    assert '<div id="connection-last-error" hx-swap-oob="true">' in finished.text
    assert "nobody answered" not in finished.text
    # ...and it stays away on the next visit.
    assert "Last error" not in client.get(page_url).text


def test_a_failed_test_shows_its_error_in_the_banner_too(
    client_for, organization, admin, connection
):
    connection.client_secret_set("wrong")
    connection.save()
    client = client_for(admin)
    client.post(reverse("connection_test", args=[organization.pk, connection.pk]), headers=HTMX)
    check = ConnectionCheck.objects.get()
    connection_check_execute(check_id=check.pk)
    finished = client.get(status_url(check), headers=HTMX)
    assert finished.status_code == 286
    assert '<div id="connection-last-error" hx-swap-oob="true">' in finished.text
    assert "Last error" in finished.text


def test_a_check_whose_worker_stopped_ends_polling_with_a_clear_message(
    client_for, organization, viewer, connection, settings
):
    settings.JOB_STALE_AFTER = 60
    check = ConnectionCheck.objects.create(organization=organization, connection=connection)
    lost = aged(check, seconds=61, running=True)
    response = client_for(viewer).get(status_url(lost), headers=HTMX)
    assert response.status_code == 286
    assert "The worker stopped." in response.text
    assert "stopped responding" in response.text
    assert "hx-get" not in response.text
    lost.refresh_from_db()
    assert lost.status == ConnectionCheck.Status.FAILED


def test_a_check_nobody_picks_up_warns_then_gives_up(
    client_for, organization, viewer, connection, settings
):
    settings.JOB_STALE_AFTER = 120
    client = client_for(viewer)
    check = ConnectionCheck.objects.create(organization=organization, connection=connection)

    waiting = client.get(status_url(aged(check, seconds=30)), headers=HTMX)
    assert waiting.status_code == 200
    assert "The worker did not pick this up yet" in waiting.text
    assert 'hx-trigger="every 5s"' in waiting.text  # still polling, more gently

    given_up = client.get(status_url(aged(check, seconds=121)), headers=HTMX)
    assert given_up.status_code == 286
    assert "The worker did not pick this up." in given_up.text
    assert "within 2 minutes" in given_up.text
