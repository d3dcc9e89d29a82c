"""Audit reports in a real browser: an admin syncs a simulated PBX through the site, the Celery
worker audits it, and the admin works through the organisation's report; provider staff see
every organisation in the roll-up and follow a figure down to one organisation's report."""

import re
from datetime import timedelta

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from dashboard.directory.models import DirectoryEntry, DirectoryState
from dashboard.reports.engine import connection_audit
from dashboard.reports.models import AuditRun, AuditState, Finding
from dashboard.reports.rules import rule_get
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.dashboard.directory.syncing import sync_now
from tests.e2e.test_accounts_flow import sign_in
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.workers import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

SYNC_TIMEOUT_MS = 60_000
#: The demo PBX's system administrator without 2FA: critical, and a ring group and an inbound
#: rule route calls to their extension.
ADMIN_RULE = "security.admin_without_2fa"


@pytest.fixture
def pbx(settings, monkeypatch):
    """A simulated 3CX server that the site (this process) and the worker may both call."""
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    monkeypatch.setenv("THREECX_ALLOW_HTTP", "true")
    monkeypatch.setenv("THREECX_ALLOWED_ADDRESSES", "127.0.0.1")
    config = SimulatorConfig(seed=3, users=40, contacts=300, groups=4, queues=3, ring_groups=3)
    with SimulatorServer(Simulator(config)) as server:
        yield server


@pytest.fixture
def worker(pbx):
    from tests.workers import celery_worker

    with celery_worker(concurrency=2) as process:
        yield process


def connect(organization, server: SimulatorServer, name: str = "Head office PBX"):
    return connection_save(
        connection=ThreeCXConnection(
            organization=organization, name=name, base_url=server.base_url, client_id=CLIENT_ID
        ),
        client_secret=CLIENT_SECRET,
    )


def test_an_admin_syncs_filters_the_report_to_critical_and_acknowledges_a_finding(
    page, live_server, organization, owner, pbx, worker, screenshot
):
    connection = connect(organization, pbx)
    sign_in(page, live_server, owner.email)
    page.goto(f"{live_server.url}/orgs/{organization.pk}/connections/{connection.pk}/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator(".sync-progress")).to_contain_text("Done:", timeout=SYNC_TIMEOUT_MS)
    # The worker asks for the audit itself once the sync has succeeded.
    wait_until(
        lambda: AuditRun.objects.filter(connection=connection).exists(),
        timeout=SYNC_TIMEOUT_MS / 1000,
        what="no audit was requested after the sync",
    )

    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit report")
    # Still auditing when the page opened: the report reloads itself when the audit ends.
    groups = page.locator(".finding-group")
    expect(groups.first).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    active = Finding.objects.filter(connection=connection, state="open")
    rules = sorted(set(active.values_list("rule", flat=True)))
    assert {rule_get(rule).category for rule in rules} == set(range(1, 13))
    expect(groups).to_have_count(len(rules))
    for rule in (ADMIN_RULE, "routing.nowhere", "trunks.unregistered", "backups.not_scheduled"):
        expect(group_of(page, rule)).to_be_visible()
    expect(page.locator(".grade")).to_be_visible()

    # Filter to critical: the address bar keeps it, so reload and Back come back to it.
    page.get_by_label(re.compile("^Severity")).select_option("critical")
    expect(page).to_have_url(re.compile(r"/reports/\?(.*&)?severity=critical"))
    critical_rules = set(active.filter(severity="critical").values_list("rule", flat=True))
    expect(groups).to_have_count(len(critical_rules))
    page.reload()
    expect(page.get_by_label(re.compile("^Severity"))).to_have_value("critical")
    expect(groups).to_have_count(len(critical_rules))
    expect(groups.locator(".card-header .severity")).to_have_text(
        ["Critical"] * len(critical_rules)
    )
    screenshot(page, "audit-report")  # the whole report is ~8,000 pixels tall: critical only

    finding = active.get(rule=ADMIN_RULE, severity="critical")
    group_of(page, ADMIN_RULE).get_by_role("link", name=finding.subject_label, exact=True).click()
    entry = DirectoryEntry.objects.visible().get(
        connection=connection, kind=finding.subject_kind, external_id=finding.subject_external_id
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(entry.name)
    findings = page.get_by_role("region", name="Audit findings")
    expect(findings.get_by_role("link", name=finding.summary)).to_be_visible()
    routing = page.get_by_role("region", name="Memberships and routing")
    expect(routing.get_by_role("heading", name="Everything that routes here")).to_be_visible()
    expect(routing).to_contain_text("Sales Hunt")  # a ring group with this extension
    expect(routing).to_contain_text("Office hours")  # an inbound rule's destination

    page.go_back()
    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(page.get_by_label(re.compile("^Severity"))).to_have_value("critical")
    expect(groups).to_have_count(len(critical_rules))
    page.go_forward()

    page.get_by_role("region", name="Audit findings").get_by_role(
        "link", name=finding.summary
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(finding.summary)
    state = page.locator("#finding-state")
    expect(state).to_contain_text("Open")
    reason = "The vendor's support login; 2FA comes with the next maintenance window."
    state.get_by_label("Reason").fill(reason)
    page.once("dialog", lambda dialog: dialog.accept())  # "Record this in the activity log…"
    state.get_by_role("button", name="Save").click()
    expect(state).to_contain_text(f"Acknowledged by {owner}")
    expect(state).to_contain_text(reason)
    expect(state.get_by_role("button", name="Reopen")).to_be_visible()
    screenshot(page, "audit-finding")

    page.get_by_role("link", name=f"Audit report of {organization.name}").click()
    row = group_of(page, ADMIN_RULE).locator("tr").filter(has_text=finding.subject_label)
    expect(row.locator(".finding-state")).to_have_text("Acknowledged")
    expect(page.get_by_role("region", name="Unresolved findings", exact=True)).to_contain_text(
        "1 of them acknowledged"
    )

    page.goto(f"{live_server.url}/orgs/{organization.pk}/activity/")
    logged = page.locator("tbody tr").filter(has_text="Acknowledged an audit finding")
    expect(logged).to_have_count(1)
    expect(logged).to_contain_text(owner.email)
    expect(logged).to_contain_text(finding.summary)


def test_provider_staff_sort_the_roll_up_and_follow_a_figure_to_an_organisations_report(
    page, live_server, organization, pbx, screenshot
):
    # One organisation synced from the simulator and audited; two more as their audits left
    # them (the roll-up reads only each connection's audit state).
    audited = connect(organization, pbx)
    assert sync_now(audited).status == "succeeded"
    connection_audit(connection=audited)
    acme = AuditState.objects.get(connection=audited)
    assert acme.critical > 0
    now = timezone.now()
    audit_state_of(
        "Contoso Logistics",
        critical=acme.critical + 5,
        high=3,
        worst_rule="trunks.unregistered",
        licence_expires_at=now + timedelta(days=5),
        version="20.0.10.1060",
        synced=now - timedelta(hours=2),
    )
    audit_state_of(
        "Northwind Dental",
        medium=2,
        low=7,
        worst_rule="users.no_email",
        version="20.0.9.1044",
        synced=now - timedelta(days=3),
    )
    staff = UserFactory(email="provider@example.com", is_provider_staff=True)
    TOTP.activate(staff, generate_totp_secret())
    recovery_code = RecoveryCodes.activate(staff).get_unused_codes()[0]

    sign_in_with_code(page, live_server, staff.email, recovery_code)
    page.get_by_role("link", name="All organisations report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("All organisations")
    names = page.locator("table.rollup tbody th")
    # Most critical findings first, by default.
    expect(names).to_have_text(["Contoso Logistics", "Acme Telecom", "Northwind Dental"])
    expect(page.locator("#rollup-results [role=status]")).to_have_text(
        "1\u20133 of 3 organisations"
    )
    screenshot(page, "audit-rollup")

    page.get_by_role("link", name=re.compile("^Organisation")).click()
    expect(page).to_have_url(re.compile(r"/reports/\?sort=name$"))
    expect(names).to_have_text(["Acme Telecom", "Contoso Logistics", "Northwind Dental"])
    header = page.get_by_role("columnheader", name=re.compile("^Organisation"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name=re.compile("^Organisation")).click()
    expect(names).to_have_text(["Northwind Dental", "Contoso Logistics", "Acme Telecom"])
    expect(header).to_have_attribute("aria-sort", "descending")
    page.reload()
    expect(names).to_have_text(["Northwind Dental", "Contoso Logistics", "Acme Telecom"])

    row = page.locator("table.rollup tbody tr").filter(has_text="Acme Telecom")
    row.locator(".severity-critical").click()
    expect(page).to_have_url(re.compile(rf"/orgs/{organization.pk}/reports/\?severity=critical$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit report of Acme Telecom")
    expect(page.get_by_label(re.compile("^Severity"))).to_have_value("critical")
    critical_rules = Finding.objects.filter(connection=audited, severity="critical")
    expect(page.locator(".finding-group")).to_have_count(
        critical_rules.values("rule").distinct().count()
    )
    # Provider staff look but do not touch: no re-run, no acknowledging.
    expect(page.get_by_role("button", name="Re-run audit")).to_have_count(0)


def group_of(page: Page, rule: str):
    """A report's section of one rule's findings (a region named by the rule's title)."""
    return page.get_by_role("region", name=rule_get(rule).title, exact=True)


def audit_state_of(name: str, *, synced, version: str, **figures) -> AuditState:
    """An organisation with one connection, as its last sync and audit left it."""
    organization = OrganizationFactory(name=name)
    connection = ThreeCXConnection(
        organization=organization,
        name=f"{name} PBX",
        base_url="https://pbx.example.com",
        client_id=CLIENT_ID,
        version=version,
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    DirectoryState.objects.create(connection=connection, generation=1, last_success_at=synced)
    return AuditState.objects.create(
        connection=connection,
        organization=organization,
        last_audit_at=synced,
        version=version,
        oldest_critical_at=synced if figures.get("critical") else None,
        **figures,
    )


def sign_in_with_code(page: Page, live_server: LiveServer, email: str, code: str) -> None:
    """Password, then the authenticator step that provider staff always have."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".usermenu summary")).to_have_text(email)
