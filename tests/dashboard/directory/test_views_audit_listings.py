"""The directory tabs of the sets the audit reads: inbound and outbound rules, DIDs and SIP
devices, listed, filtered, sorted and exported like every other kind."""

import csv
import io

import pytest
from django.urls import reverse

from dashboard.directory.models import EntryKind
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true", "HX-Target": "directory-results"}


@pytest.fixture
def synced(simulator, connection):
    assert sync_now(connection).status == "succeeded"
    return connection


def list_url(connection, slug: str) -> str:
    return reverse(
        "connection_directory_list",
        kwargs={"org_id": connection.organization_id, "connection_id": connection.pk, "kind": slug},
    )


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("slug", "kind", "label", "header"),
    [
        ("inbound-rules", EntryKind.INBOUND_RULE, "Inbound rules", "DID or mask"),
        ("outbound-rules", EntryKind.OUTBOUND_RULE, "Outbound rules", "Prefix"),
        ("dids", EntryKind.DID, "DIDs", "Template"),
        ("sip-devices", EntryKind.SIP_DEVICE, "SIP devices", "Vendor"),
    ],
)
def test_each_new_kind_has_a_tab_listing_its_entries_and_an_export(
    client_for, viewer, synced, slug, kind, label, header
):
    page = client_for(viewer).get(list_url(synced, slug))
    assert page.status_code == 200
    assert f"{label} <span" in page.text  # the tab with its count
    assert header in page.text
    entries = visible(synced, kind)
    for entry in entries:
        assert f"/directory/{slug}/{entry.external_id}/" in page.text

    exported = client_for(viewer).get(list_url(synced, slug), {"format": "csv"})
    head, *rows = read_csv(exported)
    assert head[:2] == ["Connection", "3CX Id"] and header in head
    assert sorted(int(row[1]) for row in rows) == sorted(e.external_id for e in entries)


def test_sip_devices_filter_by_registration_and_vendor(client_for, viewer, synced):
    devices = visible(synced, EntryKind.SIP_DEVICE)
    offline = devices.filter(is_registered=False)
    assert offline.exists() and devices.filter(is_registered=True).exists()
    page = client_for(viewer).get(
        list_url(synced, "sip-devices"), {"registered": "no"}, headers=FRAGMENT
    )
    assert page.status_code == 200
    for device in devices:
        link = f"/directory/sip-devices/{device.external_id}/"
        assert (link in page.text) == (device.is_registered is False)
    vendor = devices.exclude(entry_type="").values_list("entry_type", flat=True).first()
    page = client_for(viewer).get(list_url(synced, "sip-devices"), {"vendor": vendor})
    assert page.status_code == 200
    for device in devices:
        link = f"/directory/sip-devices/{device.external_id}/"
        assert (link in page.text) == (device.entry_type == vendor)


def test_outbound_rules_filter_by_emergency(client_for, viewer, synced, simulator):
    rules = visible(synced, EntryKind.OUTBOUND_RULE)
    emergency = client_for(viewer).get(list_url(synced, "outbound-rules"), {"emergency": "yes"})
    standard = client_for(viewer).get(list_url(synced, "outbound-rules"), {"emergency": "no"})
    for rule in rules:
        link = f"/directory/outbound-rules/{rule.external_id}/"
        assert (link in emergency.text) == (rule.data["EmergencyRule"] is True)
        assert (link in standard.text) == (rule.data["EmergencyRule"] is not True)


def test_inbound_rules_sort_by_number_and_filter_by_call_type(client_for, viewer, synced):
    rules = visible(synced, EntryKind.INBOUND_RULE)
    page = client_for(viewer).get(list_url(synced, "inbound-rules"), {"sort": "-number"})
    positions = [page.text.index(f"/inbound-rules/{r.external_id}/") for r in rules]
    by_number = sorted(rules, key=lambda r: (r.number, r.pk), reverse=True)
    assert [page.text.index(f"/inbound-rules/{r.external_id}/") for r in by_number] == sorted(
        positions
    )
    call_type = rules.first().entry_type
    filtered = client_for(viewer).get(list_url(synced, "inbound-rules"), {"call_type": call_type})
    assert filtered.status_code == 200
    for rule in rules:
        assert (f"/inbound-rules/{rule.external_id}/" in filtered.text) == (
            rule.entry_type == call_type
        )
