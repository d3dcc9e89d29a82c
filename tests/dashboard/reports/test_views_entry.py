"""An entry's page shows the findings about it and everything that routes calls to it."""

import pytest

from dashboard.directory.models import DirectoryEntry, DirectoryRelation, EntryKind
from dashboard.reports.models import Finding, Severity
from tests.dashboard.reports.test_views_report import (
    audited,
    connection_of,
    entry_url,
    finding,
    section,
)

pytestmark = pytest.mark.django_db
Kind = DirectoryRelation.Kind


def entry(connection, kind: str, number: str, name: str, external_id: int) -> DirectoryEntry:
    return DirectoryEntry.objects.create(
        organization=connection.organization,
        connection=connection,
        kind=kind,
        external_id=external_id,
        generation_added=1,
        number=number,
        name=name,
        content_hash="0",
        enabled=True,
    )


def route(source: DirectoryEntry, kind: str, number: str, target_type: str = "", label: str = ""):
    DirectoryRelation.objects.create(
        connection=source.connection,
        source=source,
        kind=kind,
        target_number=number,
        target_type=target_type,
        label=label,
    )


@pytest.fixture
def pbx(organization):
    connection = connection_of(organization)
    audited(connection)
    return connection


def test_the_findings_about_an_entry_link_to_their_pages(client_for, viewer, pbx):
    ada = entry(pbx, EntryKind.USER, "100", "Ada", 7)
    about_ada = finding(
        pbx,
        rule="security.admin_without_2fa",
        severity=Severity.CRITICAL,
        subject_external_id=7,
        summary="Administrator 100 Ada does not have to use 2FA",
    )
    finding(pbx, subject_external_id=8, summary="Someone else")
    finding(pbx, subject_external_id=7, summary="Fixed long ago", state=Finding.State.RESOLVED)
    page = client_for(viewer).get(entry_url(pbx, ada.external_id)).content.decode()
    findings = section(page, "findings-heading")
    assert f"/reports/findings/{about_ada.pk}/" in findings
    assert "Administrator 100 Ada does not have to use 2FA" in findings
    assert "Administrators without two-factor authentication" in findings
    assert "Someone else" not in findings and "Fixed long ago" not in findings


def test_an_entry_without_findings_says_so(client_for, viewer, pbx):
    ada = entry(pbx, EntryKind.USER, "100", "Ada", 7)
    page = client_for(viewer).get(entry_url(pbx, ada.external_id)).content.decode()
    assert "No audit rule finds anything wrong with this user" in section(page, "findings-heading")


def test_everything_that_routes_to_an_extension_is_listed_with_links(client_for, viewer, pbx):
    ada = entry(pbx, EntryKind.USER, "100", "Ada", 7)
    queue = entry(pbx, EntryKind.QUEUE, "800", "Sales", 20)
    ring = entry(pbx, EntryKind.RING_GROUP, "700", "Support", 21)
    ivr = entry(pbx, EntryKind.IVR, "900", "Main menu", 22)
    rule = entry(pbx, EntryKind.INBOUND_RULE, "+442079460000", "Main line", 23)
    bob = entry(pbx, EntryKind.USER, "101", "Bob", 24)
    route(queue, Kind.QUEUE_AGENT, "100", "Extension")
    route(ring, Kind.RING_GROUP_MEMBER, "100", "Extension")
    route(ivr, Kind.IVR_FORWARD, "100", "Extension", label="Key 1")
    route(rule, Kind.INBOUND_DESTINATION, "100", "Extension", label="Out of office hours")
    route(bob, Kind.FORWARDING, "100", "Extension", label="Away: no answer")
    route(bob, Kind.FORWARDING, "100", "External", label="Not this one: an outside number")
    page = client_for(viewer).get(entry_url(pbx, ada.external_id)).content.decode()
    links = section(page, "links-heading")
    assert "Everything that routes here" in links
    for label in (
        "Agent of queue",
        "Member of ring group",
        "Target of IVR",
        "Destination of inbound rule",
        "Forwarded here by",
        "Key 1",
        "Out of office hours",
        "Away: no answer",
    ):
        assert label in links, label
    assert "Not this one" not in links
    assert entry_url(pbx, queue.external_id, "queues") in links
    assert entry_url(pbx, rule.external_id, "inbound-rules") in links
    assert entry_url(pbx, bob.external_id, "users") in links
