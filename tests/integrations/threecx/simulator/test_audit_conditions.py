"""Every condition the audit rules look for is in the default data, and the control API turns
each one off and on again (the table in the simulator's README, one test per row)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig
from integrations.threecx.simulator.audit_data import ANTIHACKING_DEFAULTS
from tests.integrations.threecx.conftest import SMALL

ADMIN_ROLES = ("system_owners", "system_admins")


def control(server, method, path, **kwargs):
    return requests.request(method, f"{server.base_url}/_simulator{path}", timeout=10, **kwargs)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def items(sim: Simulator, set_name: str) -> list[dict]:
    entity_set = sim.directory.sets[set_name]
    return [sim.get(set_name, item[entity_set.key]) for item in entity_set.items()]


def destinations(value) -> list[dict]:
    """Every Pbx.Destination inside `value` (they are the objects with a "To")."""
    if isinstance(value, list):
        return [d for entry in value for d in destinations(entry)]
    if not isinstance(value, dict):
        return []
    found = [value] if "To" in value and "External" in value else []
    return found + [d for entry in value.values() for d in destinations(entry)]


@pytest.fixture(scope="module", params=[SMALL, SimulatorConfig()], ids=["small", "demo"])
def sim(request) -> Simulator:
    return Simulator(request.param)


class TestEveryRuleFindsSomething:
    def test_routing_points_at_missing_and_disabled_extensions(self, sim):
        users = {u["Number"]: u for u in items(sim, "Users")}
        inbound = [d for rule in items(sim, "InboundRules") for d in destinations(rule)]
        forwards = [d for user in users.values() for d in destinations(user["ForwardingProfiles"])]
        for found in (inbound, forwards):
            targets = [d["Number"] for d in found if d["To"] == "Extension"]
            assert any(number not in users for number in targets)
            assert any(number in users and not users[number]["Enabled"] for number in targets)
        keys = [f["ForwardDN"] for ivr in items(sim, "Receptionists") for f in ivr["Forwards"]]
        assert any(key and key not in users and key.isdigit() for key in keys)

    def test_admins_go_without_two_factor(self, sim):
        admins = [
            u for u in items(sim, "Users") if u["Groups"][0]["Rights"]["RoleName"] in ADMIN_ROLES
        ]
        assert any(not admin["Require2FA"] for admin in admins)

    def test_calls_are_forwarded_abroad_and_out_of_an_ivr(self, sim):
        forwards = [d for u in items(sim, "Users") for d in destinations(u["ForwardingProfiles"])]
        external = {d["External"] for d in forwards if d["To"] == "External"}
        assert "+44 20 7946 0958" in external and any(n.startswith("+1") for n in external)
        routes = [ivr["OutOfOfficeRoute"] for ivr in items(sim, "Receptionists")]
        assert any(r and r["Route"]["To"] == "External" for r in routes)

    def test_users_lack_email_share_email_and_share_names(self, sim):
        users = items(sim, "Users")
        assert any(not u["EmailAddress"] for u in users)
        emails = [u["EmailAddress"].lower() for u in users if u["EmailAddress"]]
        names = [u["DisplayName"] for u in users]
        assert len(emails) > len(set(emails)) and len(names) > len(set(names))

    def test_numbers_do_not_parse_and_contacts_repeat_once_normalised(self, sim):
        mobiles = {u["Mobile"] for u in items(sim, "Users")}
        assert {"12", "n/a"} <= mobiles
        numbers = [sim.get("Contacts", key)["PhoneNumber"] for key in (12, 13)]
        assert numbers[0] != numbers[1]
        assert {re.sub(r"\D", "", n)[-10:] for n in numbers} == {"4155550107"}

    def test_disabled_users_still_answer_queues_ring_groups_and_departments(self, sim):
        disabled = {u["Number"] for u in items(sim, "Users") if not u["Enabled"]}
        agents = {a["Number"] for q in items(sim, "Queues") for a in q["Agents"]}
        members = {m["Number"] for r in items(sim, "RingGroups") for m in r["Members"]}
        department = {m["Number"] for g in items(sim, "Groups") for m in g["Members"]}
        assert disabled & agents and disabled & members and disabled & department

    def test_a_queue_a_ring_group_and_an_ivr_are_empty(self, sim):
        assert any(not q["Agents"] for q in items(sim, "Queues"))
        assert any(not r["Members"] for r in items(sim, "RingGroups"))
        assert any(not ivr["Forwards"] for ivr in items(sim, "Receptionists"))

    def test_a_trunk_phones_and_extensions_are_not_registered(self, sim):
        assert any(not trunk["IsOnline"] for trunk in items(sim, "Trunks"))
        assert any(device["Registrar"] is None for device in items(sim, "SipDevices"))
        status = sim.state()["SystemStatus"]
        assert status["ExtensionsRegistered"] < status["ExtensionsTotal"]

    def test_the_licence_expires_soon_and_maintenance_has_run_out(self, sim):
        licence = sim.state()["LicenseStatus"]
        now = datetime.now(UTC)
        assert now < when(licence["ExpirationDate"]) < now + timedelta(days=30)
        assert when(licence["MaintenanceExpiresAt"]) < now
        assert licence["LicenseActive"] is True

    def test_updates_are_manual_and_backups_old_and_unscheduled(self, sim):
        state = sim.state()
        assert state["SystemStatus"]["AutoUpdateEnabled"] is False
        newest = max(when(b["CreationTime"]) for b in state["Backups"])
        assert newest < datetime.now(UTC) - timedelta(days=7)
        assert when(state["SystemStatus"]["LastBackupDateTime"]) == newest
        assert state["BackupSettings"]["ScheduleEnabled"] is False
        assert state["SystemStatus"]["BackupScheduled"] is False

    def test_anti_hacking_is_weaker_than_the_defaults_and_the_audit_log_off(self, sim):
        settings = sim.state()["AntiHackingSettings"]
        assert settings["SecurityDefenseProgram"] is False
        assert settings["HackAuthRequests"] > ANTIHACKING_DEFAULTS["HackAuthRequests"]
        assert settings["HackBlacklistDuration"] < ANTIHACKING_DEFAULTS["HackBlacklistDuration"]
        assert sim.state()["SystemStatus"]["IsAuditLogEnabled"] is False

    def test_no_outbound_rule_is_an_emergency_rule(self, sim):
        rules = items(sim, "OutboundRules")
        assert rules and not any(rule["EmergencyRule"] for rule in rules)


class TestControlApi:
    """Each fix and break as a test would make it, over Python and over HTTP."""

    @pytest.fixture
    def sim(self):
        return Simulator(SMALL)

    @pytest.mark.parametrize(
        ("changes", "check"),
        [
            (
                {"LicenseStatus": {"LicenseActive": False}},
                lambda s: s["SystemStatus"]["LicenseActive"] is False,
            ),
            (
                {"SystemStatus": {"ExpirationDate": "2099-01-01T00:00:00Z"}},
                lambda s: s["LicenseStatus"]["ExpirationDate"] == "2099-01-01T00:00:00Z",
            ),
            (
                {"SystemStatus": {"AutoUpdateEnabled": True, "IsAuditLogEnabled": True}},
                lambda s: (
                    s["SystemStatus"]["AutoUpdateEnabled"]
                    and s["SystemStatus"]["IsAuditLogEnabled"]
                ),
            ),
            (
                {"AntiHackingSettings": ANTIHACKING_DEFAULTS},
                lambda s: s["AntiHackingSettings"] == ANTIHACKING_DEFAULTS,
            ),
            (
                {"BackupSettings": {"ScheduleEnabled": True, "Schedule": {"Time": "03:30:00"}}},
                lambda s: (
                    s["SystemStatus"]["BackupScheduled"]
                    and s["BackupSettings"]["Schedule"]["Day"] == "Sunday"
                    and s["BackupSettings"]["Schedule"]["Time"] == "03:30:00"
                ),
            ),
            ({"Backups": []}, lambda s: s["SystemStatus"]["LastBackupDateTime"] is None),
        ],
    )
    def test_state_patch_changes_what_the_api_answers(self, sim, changes, check):
        assert check(sim.state_patch(**changes))
        assert check(sim.state())

    def test_a_fresh_backup_shows_as_the_last_backup(self, sim):
        fresh = {"FileName": "manual.zip", "CreationTime": "2099-01-01T02:00:00Z", "Size": 1}
        state = sim.state_patch(Backups=[fresh])
        assert state["SystemStatus"]["LastBackupDateTime"] == "2099-01-01T02:00:00Z"
        assert state["Backups"] == [{**fresh, "DownloadLink": ""}]

    @pytest.mark.parametrize(
        "changes",
        [
            {"LicenseStatus": {"Nope": 1}},
            {"AntiHackingSettings": {"HackAuthRequests": "25"}},
            {"BackupSettings": {"Schedule": {"ScheduleType": "Fortnightly"}}},
            {"SystemStatus": {"LastBackupDateTime": "yesterday"}},
            {"Backups": [{"CreationTime": "2025-01-01T00:00:00Z"}]},
            {"Trunks": {}},
        ],
    )
    def test_state_patch_refuses_what_the_spec_does_not_allow_and_changes_nothing(
        self, sim, changes
    ):
        before = sim.state()
        with pytest.raises(ValueError):
            sim.state_patch(**{"AntiHackingSettings": ANTIHACKING_DEFAULTS, **changes})
        assert sim.state() == before

    def test_the_state_endpoint_reads_and_patches(self, simulator):
        state = control(simulator, "GET", "/state").json()
        assert set(state) == {
            "SystemStatus",
            "LicenseStatus",
            "AntiHackingSettings",
            "BackupSettings",
            "Backups",
        }
        response = control(
            simulator, "POST", "/state", json={"LicenseStatus": {"Activated": False}}
        )
        assert response.status_code == 200
        assert response.json()["SystemStatus"]["Activated"] is False
        wrong = control(simulator, "POST", "/state", json={"LicenseStatus": {"Activated": "no"}})
        assert wrong.status_code == 400 and "Activated" in wrong.json()["error"]

    def test_mutations_fix_a_device_an_emergency_rule_and_a_forward(self, sim):
        device = next(d for d in items(sim, "SipDevices") if d["Registrar"] is None)
        fixed = sim.update("SipDevices", device["Id"], {"Registrar": {"IpAddress": "10.0.0.9"}})
        assert fixed["Registrar"]["IpAddress"] == "10.0.0.9" and fixed["Registrar"]["MAC"] == ""
        rule = sim.add("OutboundRules", {"Name": "911", "Prefix": "911", "EmergencyRule": True})
        assert rule["Id"] > 0 and rule["Routes"] == [] and rule["EmergencyRule"] is True
        user = next(
            u
            for u in items(sim, "Users")
            if any(d["To"] == "External" for d in destinations(u["ForwardingProfiles"]))
        )
        profiles = [{"Id": p["Id"], "Name": p["Name"]} for p in user["ForwardingProfiles"]]
        cleared = sim.update("Users", user["Id"], {"ForwardingProfiles": profiles})
        assert not any(d["To"] == "External" for d in destinations(cleared["ForwardingProfiles"]))

    def test_dids_and_backups_change_by_their_string_keys(self, sim):
        did = items(sim, "DidNumbers")[0]
        moved = sim.update("DidNumbers", did["Number"], {"TrunkId": 12345})
        assert moved["TrunkId"] == 12345
        with pytest.raises(ValueError):
            sim.update("DidNumbers", did["Number"], {"Number": "+15555550100"})
        sim.delete("Backups", items(sim, "Backups")[0]["FileName"])
        assert len(sim.state()["Backups"]) == 2
