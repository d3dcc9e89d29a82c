import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import User
from dashboard.tenants.models import Membership, Organization
from integrations.threecx.models import ThreeCXConnection

pytestmark = pytest.mark.django_db

DEMO_ORGANIZATIONS = {"Demo Company", "Northwind Dental", "Contoso Logistics"}


@pytest.fixture
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def demo_setup(*urls: str, sync: bool = False) -> None:
    options = [f"--simulator-url={url}" for url in urls] + (["--sync"] if sync else [])
    call_command(
        "demo_setup",
        "--password",
        "demo-pass-123",
        "--provider-password",
        "prov-pass-456",
        *options,
    )


def provider_signs_in(client, code: str):
    """The provider-staff login as a newcomer types it: password, then the authenticator code."""
    response = client.post(
        "/accounts/login/", {"login": "provider@example.com", "password": "prov-pass-456"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    return client.post(reverse("mfa_authenticate"), {"code": code})


def test_demo_setup_prints_a_working_login_and_connects_the_simulator(
    client, capsys, simulator_allowed
):
    demo_setup("http://127.0.0.1:8765")
    out = capsys.readouterr().out
    assert "demo@example.com" in out and "demo-pass-123" in out
    assert "Demo PBX (simulator) -> http://127.0.0.1:8765" in out
    response = client.post(
        "/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"}
    )
    assert response.status_code == 302
    connection = ThreeCXConnection.objects.get(organization__name="Demo Company")
    assert connection.client_secret_get() == "simulator-secret"


def test_three_demo_organisations_each_have_their_own_simulator(capsys, simulator_allowed):
    demo_setup("http://127.0.0.1:9001", "http://127.0.0.1:9002")
    connections = ThreeCXConnection.objects.select_related("organization")
    urls = {c.organization.name: c.base_url for c in connections}
    assert set(urls) == DEMO_ORGANIZATIONS
    # One token per client id: connections sharing a simulator would revoke each other's.
    assert len(set(urls.values())) == 3
    assert urls["Demo Company"] == "http://127.0.0.1:9001"
    assert urls["Northwind Dental"] == "http://127.0.0.1:9002"
    # The demo owner sees the demo organisation only; the roll-up is provider staff's.
    demo = User.objects.get(email="demo@example.com")
    assert set(
        Membership.objects.filter(user=demo).values_list("organization__name", flat=True)
    ) == {"Demo Company"}


def test_running_it_again_changes_only_the_passwords(capsys, simulator_allowed):
    call_command("demo_setup", "--password", "first-pass-123")
    first = capsys.readouterr().out
    call_command("demo_setup", "--password", "second-pass-456", "--provider-password", "p-789")
    second = capsys.readouterr().out
    assert Organization.objects.count() == 3
    assert Membership.objects.count() == 3
    assert ThreeCXConnection.objects.count() == 3
    assert User.objects.get(email="demo@example.com").check_password("second-pass-456")
    assert User.objects.get(email="provider@example.com").check_password("p-789")
    # The authenticator key stays, so that an authenticator app it was added to keeps working.
    assert _totp_key(first) == _totp_key(second)


def test_the_provider_staff_login_signs_in_with_a_printed_recovery_code(
    client, capsys, simulator_allowed
):
    demo_setup()
    out = capsys.readouterr().out
    assert "provider@example.com" in out and "prov-pass-456" in out
    recovery_code = re.search(r"one-time recovery code: (\S+?),", out).group(1)
    response = provider_signs_in(client, recovery_code)
    assert response.status_code == 302
    # Signed in with MFA, as provider staff must be: tenant pages open without the MFA set-up.
    demo = Organization.objects.get(name="Northwind Dental")
    page = client.get(reverse("organization_home", kwargs={"org_id": demo.pk}))
    assert page.status_code == 200


def test_the_provider_staff_login_signs_in_with_the_printed_authenticator_key(
    client, capsys, simulator_allowed
):
    demo_setup()
    key = _totp_key(capsys.readouterr().out)
    code = format_hotp_value(hotp_value(key, int(timezone.now().timestamp()) // 30))
    call_command("demo_setup", "--totp-code")
    assert capsys.readouterr().out.strip() == code
    response = provider_signs_in(client, code)
    assert response.status_code == 302
    assert response["Location"] != reverse("mfa_authenticate")
    assert User.objects.get(email="provider@example.com").is_provider_staff


def test_with_sync_every_demo_directory_is_synced_and_audited_before_the_logins_are_printed(
    client, capsys, make_simulator, simulator_allowed
):
    # As scripts/dev.py runs them: Northwind behind, Contoso ahead of the demo PBX's version.
    servers = [
        make_simulator(),
        make_simulator(seed=2, version="20.0.9.1044"),
        make_simulator(seed=3, version="20.0.10.1060"),
    ]
    demo_setup(*(server.base_url for server in servers), sync=True)
    out = capsys.readouterr().out
    config = servers[0].simulator.config
    assert f"Demo directory synced: {config.users} users, " in out
    assert (
        "Northwind Dental directory synced" in out and "Contoso Logistics directory synced" in out
    )
    assert re.search(r"Demo audit: [\d,]+ findings \([\d,]+ critical", out), out
    assert out.index("Demo audit") < out.index("Demo login")
    client.post("/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"})
    home = client.get("/", follow=True)
    assert "Healthy" in home.text and "Not synced yet" not in home.text
    assert f"<dd>{config.contacts}</dd>" in home.text
    connection = ThreeCXConnection.objects.get(organization__name="Demo Company")
    directory = [connection.organization_id, connection.pk, "users"]
    assert reverse("connection_directory_list", args=directory) in home.text


def test_the_demo_report_has_findings_of_every_category_and_the_roll_up_every_organisation(
    client, capsys, make_simulator, simulator_allowed
):
    from dashboard.reports.models import Finding
    from dashboard.reports.rules import RULES

    servers = [
        make_simulator(),
        make_simulator(seed=2, version="20.0.9.1044"),
        make_simulator(seed=3, version="20.0.10.1060"),
    ]
    demo_setup(*(server.base_url for server in servers), sync=True)
    out = capsys.readouterr().out
    categories = {rule.id: rule.category for rule in RULES}
    found = Finding.objects.filter(organization__name="Demo Company", resolved_at__isnull=True)
    found_categories = {categories[rule] for rule in found.values_list("rule", flat=True)}
    assert found_categories == set(categories.values())
    assert found.filter(rule="version.behind_fleet").exists()
    recovery_code = re.search(r"one-time recovery code: (\S+?),", out).group(1)
    provider_signs_in(client, recovery_code)
    rollup = client.get(reverse("reports:rollup"))
    assert rollup.status_code == 200
    for name in DEMO_ORGANIZATIONS:
        assert name in rollup.text


def test_a_demo_sync_that_fails_still_prints_the_login_and_says_why(
    client, capsys, make_simulator, simulator_allowed
):
    server = make_simulator(client_secret="not-the-demo-secret")
    others = [make_simulator(), make_simulator()]
    demo_setup(server.base_url, *(other.base_url for other in others), sync=True)
    out = capsys.readouterr().out
    assert "The demo directory could not be synced: Authentication failed" in out
    assert "Demo audit" not in out
    assert "demo-pass-123" in out
    client.post("/accounts/login/", {"login": "demo@example.com", "password": "demo-pass-123"})
    home = client.get("/", follow=True)
    connection = ThreeCXConnection.objects.get(organization__name="Demo Company")
    assert reverse("connection_sync", args=[connection.organization_id, connection.pk]) in home.text


def _totp_key(out: str) -> str:
    return re.search(r"authenticator app with the key ([A-Z2-7=]+)", out).group(1)
