"""One finding: what, why, how to fix, its history, and acknowledging, suppressing and
reopening it through the page (admins only, written to the activity log)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.reports.models import Finding, Severity
from dashboard.tenants.models import Activity
from tests.dashboard.reports.test_views_report import audited, connection_of, finding, report_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_finding(organization) -> Finding:
    connection = connection_of(organization)
    audited(connection)
    return finding(
        connection,
        rule="security.admin_without_2fa",
        severity=Severity.CRITICAL,
        summary="Administrator 100 Ada does not have to use 2FA",
        details={"role": "system_owners"},
    )


def url(finding: Finding, name: str = "reports:finding") -> str:
    return reverse(name, args=[finding.organization_id, finding.pk])


def test_members_read_what_was_found_why_it_matters_and_how_to_fix_it(
    client_for, viewer, open_finding
):
    page = client_for(viewer).get(url(open_finding)).content.decode()
    assert "<h1><bdi>Administrator 100 Ada does not have to use 2FA</bdi></h1>" in page
    assert "Why it matters" in page and "How to fix it" in page
    assert "system_owners" in page
    assert "First seen" in page and "Last seen" in page
    assert "Acknowledge or suppress" not in page  # viewers cannot
    assert "An admin of" in page


def test_admins_acknowledge_with_a_reason_and_the_activity_log_records_it(
    client_for, admin, open_finding
):
    client = client_for(admin)
    assert "Acknowledge or suppress" in client.get(url(open_finding)).content.decode()
    response = client.post(
        url(open_finding, "reports:finding_acknowledge"),
        {"action": "acknowledge", "reason": "New admin, enrolling on Monday", "until": ""},
    )
    assert response.status_code == 302
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.ACKNOWLEDGED
    assert open_finding.acknowledged_by == admin
    entry = Activity.objects.get(action="reports.finding_acknowledged")
    assert entry.details["reason"] == "New admin, enrolling on Monday"
    page = client.get(url(open_finding)).content.decode()
    assert "Acknowledged" in page and "New admin, enrolling on Monday" in page
    assert "until it is resolved" in page
    assert "Acknowledged an audit finding" in page  # who did what


def test_suppressing_with_an_expiry_hides_the_finding_from_the_report(
    client_for, admin, open_finding
):
    client = client_for(admin)
    until = timezone.localdate() + timedelta(days=14)
    response = client.post(
        url(open_finding, "reports:finding_acknowledge"),
        {"action": "suppress", "reason": "Test PBX", "until": until.isoformat()},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="finding-state"' in response.content.decode()
    assert "<html" not in response.content.decode()
    # Stored as the next midnight, shown as the day chosen.
    assert "until the end of <time" in response.content.decode()
    assert f">{until.day} {until:%b %Y}</time>" in response.content.decode()
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.SUPPRESSED
    assert timezone.localtime(open_finding.acknowledged_until).date() == until + timedelta(days=1)
    assert Activity.objects.filter(action="reports.finding_suppressed").exists()
    report = client.get(report_url(open_finding.organization)).content.decode()
    assert "Administrator 100 Ada" not in report
    assert "1 suppressed" in report


def test_a_reason_is_required_and_the_expiry_must_be_later(client_for, admin, open_finding):
    client = client_for(admin)
    response = client.post(url(open_finding, "reports:finding_acknowledge"), {"action": "suppress"})
    assert response.status_code == 200
    assert "Say why" in response.content.decode()
    response = client.post(
        url(open_finding, "reports:finding_acknowledge"),
        {"action": "suppress", "reason": "x", "until": timezone.localdate().isoformat()},
    )
    assert "Pick a day after today" in response.content.decode()
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.OPEN
    assert not Activity.objects.filter(action__startswith="reports.finding").exists()


def test_reopening_undoes_an_acknowledgement(client_for, admin, open_finding):
    client = client_for(admin)
    client.post(
        url(open_finding, "reports:finding_acknowledge"),
        {"action": "acknowledge", "reason": "Known"},
    )
    response = client.post(
        url(open_finding, "reports:finding_reopen"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.OPEN
    assert open_finding.acknowledged_reason == ""
    assert Activity.objects.filter(action="reports.finding_reopened").exists()


def test_a_resolved_finding_cannot_be_acknowledged(client_for, admin, open_finding):
    Finding.objects.filter(pk=open_finding.pk).update(
        state=Finding.State.RESOLVED, resolved_at=timezone.now()
    )
    client = client_for(admin)
    page = client.get(url(open_finding)).content.decode()
    assert "Acknowledge or suppress" not in page and "Resolved:" in page
    response = client.post(
        url(open_finding, "reports:finding_acknowledge"), {"action": "acknowledge", "reason": "x"}
    )
    assert "resolved" in response.content.decode()
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.RESOLVED


def test_viewers_and_provider_staff_cannot_acknowledge(
    client_for, viewer, provider_staff, open_finding
):
    for user in (viewer, provider_staff):
        response = client_for(user).post(
            url(open_finding, "reports:finding_acknowledge"),
            {"action": "acknowledge", "reason": "x"},
        )
        assert response.status_code == 403
    open_finding.refresh_from_db()
    assert open_finding.state == Finding.State.OPEN


def test_outsiders_get_404(client_for, outsider, open_finding):
    assert client_for(outsider).get(url(open_finding)).status_code == 404


def test_the_rule_page_explains_a_rule_to_anyone_signed_in(client_for, outsider):
    response = client_for(outsider).get(reverse("reports:rule", args=["trunks.unregistered"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Why it matters" in page and "How to fix it in the 3CX admin console" in page
    assert "Every rule" in page
    assert client_for(outsider).get(reverse("reports:rule", args=["no.such"])).status_code == 404


def test_details_read_as_text_not_as_python(client_for, viewer, organization):
    connection = connection_of(organization, name="Branch PBX")
    audited(connection)
    found = finding(
        connection,
        rule="routing.nowhere",
        details={
            "roles": ["system_admins", "system_owners"],
            "target_disabled": True,
            "international": False,
            "expires_at": "2026-12-22T12:05:00+00:00",
            "target_number": "",
        },
    )
    page = client_for(viewer).get(url(found)).content.decode()
    facts = page.split('id="about-heading"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Roles</dt><dd><bdi>system_admins, system_owners</bdi></dd>" in facts
    assert "<dt>Target disabled</dt><dd><bdi>Yes</bdi></dd>" in facts
    assert "<dt>International</dt><dd><bdi>No</bdi></dd>" in facts
    assert "<dt>Expires at</dt><dd><bdi>22 Dec 2026, 12:05</bdi></dd>" in facts
    assert "<dt>Target number</dt><dd><span" in facts  # the muted dash
    assert "[" not in facts and "True" not in facts


def test_the_acknowledge_form_labels_its_fields_like_the_products_other_forms(
    client_for, admin, open_finding
):
    page = client_for(admin).get(url(open_finding)).content.decode()
    state = page.split('id="finding-state"', 1)[1].split("</section>", 1)[0]
    assert "<legend>What to do</legend>" in state
    assert '<label for="id_reason">Reason</label>' in state
    assert '<label for="id_until">Until</label> <input type="date"' in state
    assert ":</label>" not in state


def test_after_acknowledging_the_history_below_is_brought_up_to_date_too(
    client_for, admin, open_finding
):
    response = client_for(admin).post(
        url(open_finding, "reports:finding_acknowledge"),
        {"action": "acknowledge", "reason": "Known", "until": ""},
        headers={"HX-Request": "true"},
    )
    fragment = response.content.decode()
    assert fragment.count('id="finding-state"') == 1
    history = fragment.split('id="finding-history"', 1)[1]
    assert 'hx-swap-oob="true"' in history.split(">", 1)[0]
    assert "Acknowledged an audit finding" in history
    page = client_for(admin).get(url(open_finding)).content.decode()
    assert page.count('id="finding-history"') == 1 and "hx-swap-oob" not in page


def test_an_open_finding_was_last_seen_at_the_connections_last_audit(
    client_for, viewer, organization
):
    """Audits do not rewrite every finding still true: the last audit's time is its last
    sighting."""
    connection = connection_of(organization)
    audit_at = timezone.now().replace(microsecond=0)
    audited(connection, last_audit_at=audit_at)
    week_ago = audit_at - timedelta(days=7)
    still_true = finding(connection, first_seen=week_ago, last_seen=week_ago)
    page = client_for(viewer).get(url(still_true)).content.decode()
    last_seen = page.split("<dt>Last seen</dt>", 1)[1]
    assert last_seen.startswith(
        f'<dd><time datetime="{timezone.localtime(audit_at):%Y-%m-%dT%H:%M:%S}'
    )
