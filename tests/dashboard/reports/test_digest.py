"""The scheduled digest: what it says (text and HTML), to whom, and once per period."""

from datetime import timedelta
from itertools import count

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.directory.models import SyncRun
from dashboard.reports.digest import digest_build, digest_send, digests_send
from dashboard.reports.models import AuditState, DigestSubscription, Finding
from dashboard.tenants.models import Membership, Organization
from integrations.threecx.models import ThreeCXConnection
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://dash.example.net"
_keys = count()


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def connection_in(organization, name="Main PBX") -> ThreeCXConnection:
    return ThreeCXConnection.objects.create(
        organization=organization, name=name, base_url="https://pbx.example.com", client_id="9"
    )


def finding(
    connection,
    *,
    rule="routing.nowhere",
    severity="high",
    summary="",
    age=timedelta(hours=1),
    resolved=None,
    state=Finding.State.OPEN,
):
    now = timezone.now()
    return Finding.objects.create(
        organization=connection.organization,
        connection=connection,
        rule=rule,
        severity=severity,
        subject_kind="user",
        subject_key=f"user:{next(_keys)}",
        summary=summary or f"Finding {next(_keys)}",
        state=Finding.State.RESOLVED if resolved else state,
        first_seen=now - age,
        last_seen=now,
        resolved_at=now - resolved if resolved else None,
    )


def subscribe(user, organization=None, frequency="weekly", last_sent_at=None):
    return DigestSubscription.objects.create(
        user=user, organization=organization, frequency=frequency, last_sent_at=last_sent_at
    )


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


@pytest.fixture
def pbx(organization):
    return connection_in(organization)


def test_a_weekly_digest_tells_what_is_new_resolved_and_still_open(organization, viewer, pbx):
    finding(pbx, rule="trunks.unregistered", severity="critical", summary="Trunk Main is offline")
    finding(
        pbx,
        rule="routing.nowhere",
        severity="high",
        summary="Queue 800 agent 123: no such extension",
        age=timedelta(days=30),
    )
    finding(
        pbx,
        rule="users.no_email",
        severity="medium",
        summary="Ada has no email",
        resolved=timedelta(days=2),
        age=timedelta(days=20),
    )
    finding(
        pbx,
        rule="users.no_email",
        severity="medium",
        summary="Old news",
        age=timedelta(days=60),
        resolved=timedelta(days=40),
    )
    subscribe(viewer, organization)

    assert digests_send() == 1

    [message] = mail.outbox
    assert message.to == [viewer.email]
    assert message.subject.startswith(
        "[3CX Dashboard] Acme Telecom: 1 new critical finding, 1 resolved (week to "
    )
    text, html = message.body, html_of(message)
    for part in (text, html):
        assert "Trunk Main is offline" in part
        assert "Trunks not registered" in part
        assert "Queue 800 agent 123: no such extension" in part
        assert "Ada has no email" in part
        assert "Old news" not in part
        assert f"{SITE}/orgs/{organization.pk}/reports/" in part
    assert "New findings: 1 critical" in text
    assert "Resolved: 1" in text
    assert "Open critical and high findings: 1 critical, 1 high" in text
    assert "Calls routed to an extension that does not exist or is disabled" in text


def test_rule_titles_name_the_findings(organization, viewer, pbx):
    finding(pbx, rule="routing.nowhere", severity="high", summary="IVR 801 key 1")
    subscribe(viewer, organization)
    digests_send()
    assert (
        "Calls routed to an extension that does not exist or is disabled: IVR 801 key 1"
        in mail.outbox[0].body
    )


def test_suppressed_and_low_findings_are_not_listed_as_still_open(organization, viewer, pbx):
    finding(
        pbx,
        severity="critical",
        summary="Hidden on purpose",
        state=Finding.State.SUPPRESSED,
        age=timedelta(days=30),
    )
    finding(pbx, severity="low", summary="A low one", age=timedelta(days=30))
    subscribe(viewer, organization)
    digests_send()
    assert "Hidden on purpose" not in mail.outbox[0].body
    assert "A low one" not in mail.outbox[0].body


def test_licences_expiring_within_30_days_and_failed_syncs_are_reported(organization, viewer, pbx):
    now = timezone.now()
    AuditState.objects.create(
        connection=pbx,
        organization=organization,
        licence_expires_at=now + timedelta(days=12, hours=2),
    )
    other = connection_in(organization, name="Branch PBX")
    AuditState.objects.create(
        connection=other, organization=organization, licence_expires_at=now + timedelta(days=90)
    )
    for hours in (30, 5):
        SyncRun.objects.create(
            organization=organization,
            connection=pbx,
            status=SyncRun.Status.FAILED,
            finished_at=now - timedelta(hours=hours),
            error_title=f"Could not reach the server {hours}",
        )
    SyncRun.objects.create(
        organization=organization,
        connection=pbx,
        status=SyncRun.Status.FAILED,
        finished_at=now - timedelta(days=9),
    )
    subscribe(viewer, organization)

    digests_send()

    message = mail.outbox[0]
    assert "2 failed syncs" in message.subject
    for part in (message.body, html_of(message)):
        assert "expires on" in part and "in 12 days" in part
        assert "Failed syncs:</strong> 2" in part or "Failed syncs: 2" in part
        assert "Could not reach the server 5" in part
    # The branch's licence runs for months: nothing to say about it.
    assert message.body.count("Licence:") == 1


def test_an_expired_licence_says_so(organization, viewer, pbx):
    AuditState.objects.create(
        connection=pbx,
        organization=organization,
        licence_expires_at=timezone.now() - timedelta(days=3),
    )
    subscribe(viewer, organization)
    digests_send()
    assert "Licence: expired on" in mail.outbox[0].body


def test_nothing_to_report_still_sends_a_short_all_clear(organization, viewer, pbx):
    subscribe(viewer, organization, frequency="daily")
    digests_send()
    message = mail.outbox[0]
    assert message.subject.startswith("[3CX Dashboard] Acme Telecom: nothing new (day to ")
    assert "All clear" in message.body and "All clear" in html_of(message)


def test_names_are_escaped_in_html_and_kept_off_the_subject_line(viewer, organization, pbx):
    organization.name = "Acme <b>\nBcc: x@example.com"
    organization.save()
    finding(pbx, severity="high", summary="<img src=x> in a display name")
    subscribe(viewer, organization)
    digests_send()
    message = mail.outbox[0]
    assert "\n" not in message.subject
    assert "&lt;img src=x&gt; in a display name" in html_of(message)
    assert "<img src=x>" in message.body


def test_a_digest_carries_no_secret(organization, viewer, pbx):
    pbx.client_secret_set("very-secret-client-secret")
    pbx.save()
    subscribe(viewer, organization)
    digests_send()
    message = mail.outbox[0]
    assert "very-secret-client-secret" not in message.body + html_of(message)
    assert pbx.client_secret_encrypted not in message.body + html_of(message)


def test_new_means_since_the_last_digest(organization, viewer, pbx):
    now = timezone.now()
    finding(pbx, severity="high", summary="Before the last digest", age=timedelta(days=3))
    finding(pbx, severity="high", summary="After the last digest", age=timedelta(hours=2))
    subscribe(viewer, organization, frequency="daily", last_sent_at=now - timedelta(days=1))
    digests_send()
    body = mail.outbox[0].body
    new_section = body.split("New findings:")[1].split("Open critical and high")[0]
    assert "After the last digest" in new_section
    assert "Before the last digest" not in new_section


# --- when and to whom ----------------------------------------------------------------------


def test_a_second_run_sends_nothing(organization, viewer, pbx):
    subscribe(viewer, organization, frequency="daily")
    assert digests_send() == 1
    assert digests_send() == 0
    assert len(mail.outbox) == 1


def test_a_claimed_subscription_is_not_sent_by_a_run_that_read_it_before_the_claim(
    organization, viewer, pbx
):
    """Two runs at once: both saw it due, only the first to claim it sends."""
    subscription = subscribe(viewer, organization)
    stale_copy = DigestSubscription.objects.get(pk=subscription.pk)
    now = timezone.now()
    assert digest_send(subscription=subscription, now=now) is True
    assert digest_send(subscription=stale_copy, now=now + timedelta(seconds=1)) is False
    assert len(mail.outbox) == 1


def test_digests_fall_due_once_a_period(organization, viewer, admin, pbx):
    now = timezone.now()
    subscribe(
        viewer, organization, frequency="daily", last_sent_at=now - timedelta(hours=23, minutes=5)
    )
    subscribe(
        admin, organization, frequency="weekly", last_sent_at=now - timedelta(days=6, hours=12)
    )
    assert digests_send() == 1
    assert mail.outbox[0].to == [viewer.email]
    assert digests_send(now=now + timedelta(hours=12)) == 1
    assert mail.outbox[1].to == [admin.email]


def test_a_failed_send_is_tried_again_by_the_next_run(organization, viewer, pbx, monkeypatch):
    subscription = subscribe(viewer, organization)

    def refuse(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert digests_send() == 0
    subscription.refresh_from_db()
    assert subscription.last_sent_at is None
    monkeypatch.undo()
    assert digests_send() == 1


def test_removing_a_member_stops_their_digest(organization, viewer, pbx):
    subscribe(viewer, organization)
    Membership.objects.filter(user=viewer, organization=organization).delete()
    assert digests_send() == 0
    assert mail.outbox == []
    assert not DigestSubscription.objects.filter(user=viewer).exists()


def test_inactive_users_get_no_digest(organization, viewer, pbx):
    subscribe(viewer, organization)
    viewer.is_active = False
    viewer.save()
    assert digests_send() == 0


def test_members_of_an_organisation_demanding_mfa_need_it_for_the_digest(organization, viewer, pbx):
    organization.require_mfa = True
    organization.save()
    subscribe(viewer, organization)
    assert digests_send() == 0
    Authenticator.objects.create(user=viewer, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert digests_send() == 1


# --- the provider digest -------------------------------------------------------------------


def test_the_provider_digest_covers_every_organisation_worst_first(provider_staff):
    calm = OrganizationFactory(name="Calm Co")
    burning = OrganizationFactory(name="Burning Ltd")
    OrganizationFactory(name="Empty Inc")
    finding(connection_in(calm), severity="high", summary="Calm's high one", age=timedelta(days=20))
    hot = connection_in(burning)
    finding(hot, severity="critical", summary="Burning's critical one")
    finding(hot, severity="critical", summary="Another critical one")
    subscribe(provider_staff)

    assert digests_send() == 1

    message = mail.outbox[0]
    assert message.subject.startswith(
        "[3CX Dashboard] All organisations: 2 new critical findings (week to "
    )
    for part in (message.body, html_of(message)):
        assert part.index("Burning Ltd") < part.index("Calm Co")
        assert "Empty Inc" not in part
        assert "with nothing to report" in part
        assert f"{SITE}/reports/" in part


def test_only_provider_staff_get_the_provider_digest(organization, viewer):
    subscribe(viewer)
    assert digests_send() == 0
    assert not DigestSubscription.objects.filter(user=viewer).exists()


def test_provider_staff_without_mfa_get_no_digest(organization):
    subscribe(UserFactory(is_provider_staff=True))
    assert digests_send() == 0


def test_workers_register_the_task_beat_runs():
    """Workers import each app's tasks module (autodiscovery), not the web's URLconf."""
    from dashboard.reports import tasks

    assert tasks.reports_digests_send.name == "reports.digests_send"


def test_the_provider_digest_costs_the_same_queries_for_many_organisations(provider_staff):
    def build_queries() -> int:
        now = timezone.now()
        with CaptureQueriesContext(db) as queries:
            digest_build(
                organizations=Organization.objects.all(),
                since=now - timedelta(days=7),
                until=now,
                frequency="weekly",
                provider=True,
            )
        return len(queries)

    def add_organisation(n: int) -> None:
        pbx = connection_in(OrganizationFactory(name=f"Org {n}"))
        finding(pbx, severity="critical")
        finding(pbx, severity="high", resolved=timedelta(days=1), age=timedelta(days=3))
        SyncRun.objects.create(
            organization=pbx.organization,
            connection=pbx,
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
        )

    add_organisation(0)
    few = build_queries()
    for n in range(1, 6):
        add_organisation(n)
    assert build_queries() == few


def test_a_digest_that_did_not_go_for_long_covers_one_period(organization, viewer, pbx):
    finding(pbx, severity="high", summary="From last month", age=timedelta(days=30))
    subscribe(
        viewer, organization, frequency="daily", last_sent_at=timezone.now() - timedelta(days=60)
    )
    digests_send()
    assert "New findings" not in mail.outbox[0].body
