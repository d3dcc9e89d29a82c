"""The sets and settings the audit reads: inbound and outbound rules, DID numbers, SIP
devices, forwarding profiles, licence, anti-hacking and backups.

The server is the simulator, with the new sets and settings answered from canned data at the
client's one GET (so the real query building, paging and secret filtering run); what a
version of 3CX lacks answers 404 as the real server does.
"""

import copy
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from dashboard.directory.models import DirectoryRelation, DirectoryState, EntryKind, SyncRun
from dashboard.directory.progress import sync_run_progress_rows
from dashboard.directory.sources import did_external_id
from integrations.threecx import errors
from integrations.threecx.client import API
from tests.dashboard.directory.syncing import fast_client_factory, run_created, visible

pytestmark = pytest.mark.django_db

LICENCE_KEY = "LICE-NSEK-EY00-4242"
WEB_PASSWORD = "phone-web-secret-77"
BACKUP_PASSWORD = "backup-secret-99"
PROVISIONING = "https://pbx.example.com/provisioning/abcdef0123/"


def destination(to: str, number: str = "", external: str = "", peer: str = "None") -> dict:
    return {"To": to, "Number": number, "External": external, "Type": peer, "Name": "", "Tags": []}


INBOUND_RULES = [
    {
        "Id": 7,
        "RuleName": "Main line",
        "Data": "+14155550100",
        "CallType": "AllCalls",
        "AlterDestinationDuringOutOfOfficeHours": True,
        "AlterDestinationDuringHolidays": False,
        "OfficeHoursDestination": destination("Queue", "800", peer="Queue"),
        "OutOfOfficeHoursDestination": destination("External", external="+447700900123"),
        "HolidaysDestination": destination("VoiceMail", "100", peer="Extension"),
        "TrunkDN": {"Id": 40, "Number": "10000", "Name": "SIP provider", "Type": "ExternalLine"},
    },
    {
        "Id": 8,
        "RuleName": "Fax line",
        "Data": "+14155550199",
        "CallType": "ExternalCallsOnly",
        "OfficeHoursDestination": destination("None"),
    },
]
OUTBOUND_RULES = [
    {
        "Id": 1,
        "Name": "Emergency",
        "Prefix": "911",
        "Priority": 1,
        "EmergencyRule": True,
        "Routes": [{"TrunkId": 40, "TrunkName": "SIP provider", "StripDigits": 0}],
        "DNRanges": [],
        "GroupIds": [],
        "GroupNames": [],
    },
    {
        "Id": 2,
        "Name": "International",
        "Prefix": "00",
        "Priority": 2,
        "EmergencyRule": False,
        "Routes": [
            {"TrunkId": 40, "TrunkName": "SIP provider"},
            {"TrunkId": None, "TrunkName": ""},
        ],
    },
]
DIDS = [
    {"Number": "+14155550100", "TrunkId": 40, "TemplateFileName": "generic.xml"},
    {"Number": "+14155550101", "TrunkId": 40, "TemplateFileName": None},
]
SIP_DEVICES = [
    {
        "Id": 3,
        "PhoneWebPassword": WEB_PASSWORD,  # a server that sends it although not asked
        "ProvLink": PROVISIONING,
        "Registrar": {
            "Vendor": "Yealink",
            "Model": "T54W",
            "MAC": "805ec0aabbcc",
            "IpAddress": "10.0.0.20",
        },
        "DN": {"Id": 11, "Number": "100", "Name": "Ada Lovelace", "Type": "Extension"},
    },
    {
        "Id": 4,
        "Registrar": {"Vendor": "Fanvil", "Model": "X4U", "MAC": "0c383e112233", "IpAddress": None},
        "DN": {"Id": 12, "Number": "101", "Name": "Alan Turing", "Type": "Extension"},
    },
]
SETTINGS = {
    "LicenseStatus": {
        "@odata.context": "https://pbx/xapi/v1/$metadata#LicenseStatus",
        "LicenseKey": LICENCE_KEY,
        "LicenseActive": True,
        "Activated": True,
        "ExpirationDate": "2027-01-10T00:00:00Z",
        "MaintenanceExpiresAt": "2026-11-01T00:00:00Z",
    },
    "AntiHackingSettings": {"HackAuthRequests": 25, "HackBlacklistDuration": 86400},
    "Backups/Pbx.GetBackupSettings()": {
        "ScheduleEnabled": True,
        "Rotation": 5,
        "Contents": {
            "CallHistory": True,
            "EncryptBackup": True,
            "EncryptBackupPassword": BACKUP_PASSWORD,
        },
        "Schedule": {"ScheduleType": "Daily", "Time": "02:00"},
    },
}
BACKUPS = [
    {"FileName": "a.zip", "CreationTime": "2026-11-30T02:00:00Z", "Size": 10},
    {"FileName": "b.zip", "CreationTime": "2026-12-01T03:00:00+01:00", "Size": 10},
    {"FileName": "c.zip", "CreationTime": "2026-11-29T02:00:00Z", "Size": 10},
]


class CannedServer:
    """The simulator, with chosen sets and settings answered from data here: `missing`
    answer 404 (or `refusal` instead, when given); every request's parameters are kept."""

    def __init__(self) -> None:
        self.collections: dict[str, list[dict[str, Any]]] = {
            "InboundRules": copy.deepcopy(INBOUND_RULES),
            "OutboundRules": copy.deepcopy(OUTBOUND_RULES),
            "DidNumbers": copy.deepcopy(DIDS),
            "SipDevices": copy.deepcopy(SIP_DEVICES),
            "Backups": copy.deepcopy(BACKUPS),
        }
        self.objects: dict[str, dict[str, Any]] = copy.deepcopy(SETTINGS)
        self.missing: set[str] = set()
        self.failing: set[str] = set()
        self.refusal: errors.ThreeCXError | None = None
        self.asked: dict[str, dict[str, str]] = {}

    def client_factory(self):
        build = fast_client_factory()

        def make(connection):
            client = build(connection)
            fetch, get = client._get_tolerating_unknown_properties, client.get

            def canned_fetch(path: str, params: dict[str, str]) -> Any:
                name = path.removeprefix(f"{API}/")
                self.asked[name] = dict(params)
                self._refuse(name)
                if name not in self.collections:
                    return fetch(path, params)
                items = self.collections[name]
                skip, top = int(params.get("$skip", 0)), int(params.get("$top", len(items)))
                return {
                    "@odata.count": len(items),
                    "value": copy.deepcopy(items[skip : skip + top]),
                }

            def canned_get(path: str, params: dict[str, str] | None = None) -> Any:
                name = path.lstrip("/")
                self._refuse(name)
                if name not in self.objects:
                    return get(path, params)
                return copy.deepcopy(self.objects[name])

            client._get_tolerating_unknown_properties = canned_fetch
            client.get = canned_get
            return client

        return make

    def _refuse(self, name: str) -> None:
        if name in self.failing:
            raise errors.ServerError("The 3CX server failed with HTTP 500.", status=500)
        if name in self.missing:
            raise self.refusal or errors.NotFound(
                f"{API}/{name} was not found on this server.", status=404
            )

    def sync(self, connection) -> SyncRun:
        from dashboard.directory.sync import sync_run_execute

        run = run_created(connection)
        return sync_run_execute(run_id=run.pk, worker="tests", client_factory=self.client_factory())


@pytest.fixture
def server() -> CannedServer:
    return CannedServer()


def relations(entry, kind: str) -> list[tuple[str, str, str]]:
    return sorted(
        DirectoryRelation.objects.filter(source=entry, kind=kind).values_list(
            "label", "target_type", "target_number"
        )
    )


def test_inbound_rules_keep_their_number_call_type_trunk_and_destinations_in_force(
    server, connection
):
    run = server.sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    main = visible(connection, EntryKind.INBOUND_RULE).get(external_id=7)
    assert (main.name, main.number, main.entry_type) == ("Main line", "+14155550100", "AllCalls")
    assert main.data["TrunkDN"]["Number"] == "10000"
    # The holiday destination is not in force (AlterDestinationDuringHolidays is false).
    assert relations(main, DirectoryRelation.Kind.INBOUND_DESTINATION) == [
        ("Office hours", "Queue", "800"),
        ("Out of office hours", "External", "+447700900123"),
    ]
    fax = visible(connection, EntryKind.INBOUND_RULE).get(external_id=8)
    assert relations(fax, DirectoryRelation.Kind.INBOUND_DESTINATION) == []  # ends the call
    assert "TrunkDN" in server.asked["InboundRules"]["$expand"]


def test_outbound_rules_keep_their_prefix_emergency_flag_and_trunks(server, connection):
    server.sync(connection)
    emergency = visible(connection, EntryKind.OUTBOUND_RULE).get(external_id=1)
    assert (emergency.name, emergency.number, emergency.entry_type) == (
        "Emergency",
        "911",
        "Emergency",
    )
    assert emergency.data["EmergencyRule"] is True
    international = visible(connection, EntryKind.OUTBOUND_RULE).get(external_id=2)
    assert international.entry_type == "Standard"
    routes = DirectoryRelation.objects.filter(
        source=international, kind=DirectoryRelation.Kind.OUTBOUND_ROUTE
    ).values_list("target_external_id", "label", "target_type")
    assert list(routes) == [(40, "SIP provider", "Trunk")]


def test_did_numbers_get_a_stable_positive_id_from_their_number(server, connection):
    server.sync(connection)
    dids = visible(connection, EntryKind.DID)
    assert set(dids.values_list("number", "external_id")) == {
        (d["Number"], did_external_id(d)) for d in DIDS
    }
    assert all(0 <= d.external_id < 2**63 for d in dids)
    assert did_external_id({"Number": "+14155550100"}) == did_external_id(
        {"Number": "+14155550100"}
    )
    assert server.asked["DidNumbers"]["$orderby"] == "Number"
    trunks = DirectoryRelation.objects.filter(kind=DirectoryRelation.Kind.DID_TRUNK)
    assert set(trunks.values_list("target_external_id", "target_type")) == {(40, "Trunk")}

    again = server.sync(connection)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    server.collections["DidNumbers"].pop()
    removed = server.sync(connection)
    assert removed.removed == 1
    assert list(visible(connection, EntryKind.DID).values_list("number", flat=True)) == [
        "+14155550100"
    ]


def test_a_did_number_has_a_detail_page(server, connection, client_for, viewer):
    server.sync(connection)
    did = visible(connection, EntryKind.DID).get(number="+14155550100")
    url = reverse(
        "directory_entry_detail",
        kwargs={
            "org_id": connection.organization_id,
            "connection_id": connection.pk,
            "kind": "dids",
            "external_id": did.external_id,
        },
    )
    response = client_for(viewer).get(url)
    assert response.status_code == 200
    assert "+14155550100" in response.text


def test_sip_devices_never_ask_for_or_keep_the_web_password_or_provisioning_link(
    server, connection
):
    server.sync(connection)
    select = server.asked["SipDevices"]["$select"].split(",")
    assert "PhoneWebPassword" not in select and "ProvLink" not in select
    assert server.asked["SipDevices"]["$expand"] == "DN"
    registered = visible(connection, EntryKind.SIP_DEVICE).get(external_id=3)
    assert (registered.number, registered.name, registered.is_registered) == (
        "100",
        "Yealink T54W",
        True,
    )
    assert "PhoneWebPassword" not in registered.data
    assert visible(connection, EntryKind.SIP_DEVICE).get(external_id=4).is_registered is False
    assert relations(registered, DirectoryRelation.Kind.DEVICE_OF) == [
        ("Ada Lovelace", "Extension", "100")
    ]
    dump = database_dump()
    assert WEB_PASSWORD not in dump


def test_the_licence_status_and_other_settings_are_kept_with_secrets_masked_or_left_out(
    server, connection
):
    run = server.sync(connection)
    state = DirectoryState.objects.get(connection=connection)
    for settings in (run.pbx_settings, state.pbx_settings):
        assert settings["LicenseStatus"]["LicenseKey"] == "****4242"
        assert settings["LicenseStatus"]["ExpirationDate"] == "2027-01-10T00:00:00Z"
        assert "@odata.context" not in settings["LicenseStatus"]
        assert settings["AntiHackingSettings"] == {
            "HackAuthRequests": 25,
            "HackBlacklistDuration": 86400,
        }
        assert settings["BackupSettings"]["ScheduleEnabled"] is True
        assert settings["BackupSettings"]["Contents"] == {
            "CallHistory": True,
            "EncryptBackup": True,
        }
        # The newest by time, not by text: 03:00+01:00 is 02:00 UTC on 1 December.
        assert settings["Backups"] == {"count": 3, "newest": "2026-12-01T03:00:00+01:00"}
    assert state.unavailable == {}
    assert server.asked["Backups"]["$select"] == "FileName,CreationTime"
    dump = database_dump()
    assert LICENCE_KEY not in dump
    assert BACKUP_PASSWORD not in dump


def test_no_backups_is_a_count_of_zero_and_no_time(server, connection):
    server.collections["Backups"] = []
    run = server.sync(connection)
    assert run.pbx_settings["Backups"] == {"count": 0, "newest": None}


def test_a_setting_that_fails_to_read_is_a_warning_and_keeps_its_last_value(server, connection):
    server.sync(connection)
    server.failing.add("AntiHackingSettings")
    server.objects["LicenseStatus"]["LicenseActive"] = False
    run = server.sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert [w["step"] for w in run.warnings] == ["AntiHackingSettings"]
    assert "AntiHackingSettings" not in run.pbx_settings
    state = DirectoryState.objects.get(connection=connection)
    assert state.pbx_settings["AntiHackingSettings"]["HackAuthRequests"] == 25
    assert state.pbx_settings["LicenseStatus"]["LicenseActive"] is False


def test_a_set_this_version_lacks_is_recorded_and_its_entries_are_kept(server, connection):
    server.sync(connection)
    before = set(visible(connection, EntryKind.INBOUND_RULE).values_list("pk", flat=True))
    server.missing.add("InboundRules")
    run = server.sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.removed == 0 and run.warnings == []
    message = "InboundRules is not available on this version of 3CX."
    assert run.unavailable == {EntryKind.INBOUND_RULE: message}
    state = DirectoryState.objects.get(connection=connection)
    assert state.unavailable == {EntryKind.INBOUND_RULE: message}
    assert set(visible(connection, EntryKind.INBOUND_RULE).values_list("pk", flat=True)) == before
    rows, _ = sync_run_progress_rows(run)
    inbound = next(row for row in rows if row.kind == EntryKind.INBOUND_RULE)
    assert inbound.unavailable and inbound.done
    assert not any(row.unavailable for row in rows if row.kind != EntryKind.INBOUND_RULE)

    server.missing.clear()
    back = server.sync(connection)
    assert back.unavailable == {}
    assert DirectoryState.objects.get(connection=connection).unavailable == {}


def test_an_odata_unknown_segment_error_means_not_available_too(server, connection):
    server.missing.update({"DidNumbers", "Backups/Pbx.GetBackupSettings()"})
    server.refusal = errors.InvalidParameters(
        "The 3CX server refused the request: Resource not found for the segment 'DidNumbers'.",
        status=400,
    )
    run = server.sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert set(run.unavailable) == {EntryKind.DID, "BackupSettings"}
    assert (
        run.unavailable["BackupSettings"]
        == "GetBackupSettings is not available on this version of 3CX."
    )
    assert "BackupSettings" not in run.pbx_settings and "Backups" in run.pbx_settings


def test_a_setting_this_version_lacks_is_recorded_not_warned(server, connection):
    server.missing.update({"LicenseStatus", "AntiHackingSettings", "Backups"})
    run = server.sync(connection)
    assert run.warnings == []
    assert run.unavailable == {
        "LicenseStatus": "LicenseStatus is not available on this version of 3CX.",
        "AntiHackingSettings": "AntiHackingSettings is not available on this version of 3CX.",
        "Backups": "Backups is not available on this version of 3CX.",
    }


def test_a_set_every_version_has_still_fails_the_run_when_not_found(server, connection):
    server.missing.add("Users")
    run = server.sync(connection)
    assert run.status == SyncRun.Status.FAILED
    assert DirectoryState.objects.get(connection=connection).unavailable == {}


def test_users_are_read_with_their_forwarding_profiles(server, connection):
    server.sync(connection)
    assert "ForwardingProfiles" in server.asked["Users"]["$expand"].split(",")


def test_references_say_what_their_target_is(server, connection):
    server.sync(connection)
    types = dict(
        DirectoryRelation.objects.filter(connection=connection)
        .values_list("kind", "target_type")
        .distinct()
        .order_by()
    )
    assert types[DirectoryRelation.Kind.QUEUE_AGENT] == "Extension"
    assert types[DirectoryRelation.Kind.RING_GROUP_MEMBER] == "Extension"
    assert types[DirectoryRelation.Kind.DEPARTMENT_MEMBER] == "Group"
    forwards = set(
        DirectoryRelation.objects.filter(kind=DirectoryRelation.Kind.IVR_FORWARD).values_list(
            "target_type", flat=True
        )
    )
    assert "Extension" in forwards and "" not in forwards


def database_dump() -> str:
    """Everything the database holds, as text."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()
