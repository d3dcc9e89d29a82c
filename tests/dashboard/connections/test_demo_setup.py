import pytest
from django.core.management import call_command
from django.urls import reverse

from dashboard.accounts.models import User
from dashboard.tenants.models import Membership, Organization
from integrations.threecx.models import ThreeCXConnection

pytestmark = pytest.mark.django_db


def test_demo_setup_prints_a_working_login_and_connects_the_simulator(client, capsys, settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    call_command(
        "demo_setup", "--password", "demo-pass-123", "--simulator-url", "http://127.0.0.1:8765"
    )
    out = capsys.readouterr().out
    assert "demo@example.com" in out and "demo-pass-123" in out
    assert "Demo PBX (simulator) -> http://127.0.0.1:8765" in out
    response = client.post(
        "/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"}
    )
    assert response.status_code == 302
    connection = ThreeCXConnection.objects.get()
    assert connection.client_secret_get() == "simulator-secret"


def test_running_it_again_changes_only_the_password(capsys, settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    call_command("demo_setup", "--password", "first-pass-123")
    call_command("demo_setup", "--password", "second-pass-456")
    assert Organization.objects.count() == 1
    assert Membership.objects.count() == 1
    assert ThreeCXConnection.objects.count() == 1
    assert User.objects.get().check_password("second-pass-456")


def test_with_sync_the_demo_directory_is_synced_before_the_login_is_printed(
    client, capsys, simulator
):
    call_command(
        "demo_setup", "--password", "demo-pass-123", "--simulator-url", simulator.base_url, "--sync"
    )
    out = capsys.readouterr().out
    config = simulator.simulator.config
    assert f"Demo directory synced: {config.users} users, " in out
    assert out.index("Demo directory synced") < out.index("Demo login")
    client.post("/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"})
    home = client.get("/", follow=True)
    assert "Healthy" in home.text and "Not synced yet" not in home.text
    assert f"<dd>{config.contacts}</dd>" in home.text
    connection = ThreeCXConnection.objects.get()
    directory = [connection.organization_id, connection.pk, "users"]
    assert reverse("connection_directory_list", args=directory) in home.text


def test_a_demo_sync_that_fails_still_prints_the_login_and_says_why(client, capsys, make_simulator):
    server = make_simulator(client_secret="not-the-demo-secret")
    call_command(
        "demo_setup", "--password", "demo-pass-123", "--simulator-url", server.base_url, "--sync"
    )
    out = capsys.readouterr().out
    assert "The demo directory could not be synced: Authentication failed" in out
    assert "demo-pass-123" in out
    client.post("/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"})
    home = client.get("/", follow=True)
    connection = ThreeCXConnection.objects.get()
    assert reverse("connection_sync", args=[connection.organization_id, connection.pk]) in home.text
