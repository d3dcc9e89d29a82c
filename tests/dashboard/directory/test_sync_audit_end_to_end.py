"""The sets and settings the audit reads, synced from the simulator over HTTP: what every
kind holds, secrets that never arrive, and a PBX version that lacks some of them."""

import io

import pytest
from django.core.management import call_command

from dashboard.directory.models import DirectoryRelation, DirectoryState, EntryKind, SyncRun
from tests.dashboard.directory.syncing import sync_now, visible

pytestmark = pytest.mark.django_db

NEW_KINDS = (EntryKind.INBOUND_RULE, EntryKind.OUTBOUND_RULE, EntryKind.DID, EntryKind.SIP_DEVICE)


def dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def test_a_sync_stores_every_new_kind_and_setting(simulator, connection):
    run = sync_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.warnings == [] and run.unavailable == {}
    for kind in NEW_KINDS:
        assert visible(connection, kind).exists(), kind
        assert run.progress[kind]["done"] and "unavailable" not in run.progress[kind]
    state = DirectoryState.objects.get(connection=connection)
    assert set(state.pbx_settings) == {
        "LicenseStatus",
        "AntiHackingSettings",
        "BackupSettings",
        "Backups",
    }
    assert state.pbx_settings["LicenseStatus"]["LicenseKey"].startswith("****")
    assert state.pbx_settings["Backups"]["count"] >= 0
    kinds = set(DirectoryRelation.objects.values_list("kind", flat=True))
    assert {
        DirectoryRelation.Kind.INBOUND_DESTINATION,
        DirectoryRelation.Kind.OUTBOUND_ROUTE,
        DirectoryRelation.Kind.DID_TRUNK,
        DirectoryRelation.Kind.DEVICE_OF,
        DirectoryRelation.Kind.FORWARDING,
    } <= kinds
    assert not DirectoryRelation.objects.filter(target_type="").exists()


def test_secrets_of_sip_devices_and_the_licence_never_reach_the_database(simulator, connection):
    sim = simulator.simulator
    devices = list(sim.directory.sets["SipDevices"].items())
    secrets = {d["PhoneWebPassword"] for d in devices if d.get("PhoneWebPassword")}
    links = {d["ProvLink"] for d in devices if d.get("ProvLink")}
    assert secrets and links
    sync_now(connection)
    stored = dump()
    assert not any(secret in stored for secret in secrets)
    assert not any(link in stored for link in links)
    assert "SIMU-LATO-R000-0001" not in stored


def test_forwarding_to_an_external_number_is_a_reference_to_it(simulator, connection):
    sync_now(connection)
    external = DirectoryRelation.objects.filter(
        kind=DirectoryRelation.Kind.FORWARDING, target_type="External"
    )
    assert external.exists()
    assert all(r.target_number and ": " in r.label for r in external)


def test_sets_an_older_version_lacks_are_kept_and_named_until_they_come_back(simulator, connection):
    sync_now(connection)
    kept = set(visible(connection, EntryKind.INBOUND_RULE).values_list("pk", flat=True))
    settings_before = DirectoryState.objects.get(connection=connection).pbx_settings
    simulator.simulator.reconfigure(
        missing=("InboundRules", "SipDevices", "LicenseStatus", "Backups/Pbx.GetBackupSettings")
    )

    run = sync_now(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.warnings == [] and run.removed == 0
    assert run.unavailable == {
        EntryKind.INBOUND_RULE: "InboundRules is not available on this version of 3CX.",
        EntryKind.SIP_DEVICE: "SipDevices is not available on this version of 3CX.",
        "LicenseStatus": "LicenseStatus is not available on this version of 3CX.",
        "BackupSettings": "GetBackupSettings is not available on this version of 3CX.",
    }
    assert run.progress[EntryKind.INBOUND_RULE]["unavailable"] is True
    assert set(visible(connection, EntryKind.INBOUND_RULE).values_list("pk", flat=True)) == kept
    state = DirectoryState.objects.get(connection=connection)
    assert state.unavailable == run.unavailable
    assert state.pbx_settings["LicenseStatus"] == settings_before["LicenseStatus"]

    simulator.simulator.reconfigure(missing=())
    back = sync_now(connection)
    assert back.unavailable == {}
    assert DirectoryState.objects.get(connection=connection).unavailable == {}
