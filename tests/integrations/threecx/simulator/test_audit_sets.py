"""The sets and settings an audit reads: inbound and outbound rules, DIDs, SIP devices,
backups, forwarding profiles, the licence, anti-hacking and backup settings."""

import re

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer


def rows(xapi, path: str, **params) -> list[dict]:
    response = xapi.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


class TestEntitySets:
    def test_inbound_rules_page_filter_sort_and_count_like_the_other_sets(self, xapi):
        body = xapi.get(
            "/InboundRules",
            params={
                "$select": "Id,RuleName,Data",
                "$filter": "startswith(RuleName,'DDI') eq false",
                "$orderby": "RuleName desc",
                "$top": 2,
                "$skip": 1,
                "$count": "true",
            },
        ).json()
        assert body["@odata.count"] == 4
        assert [rule["RuleName"] for rule in body["value"]] == ["Sales direct", "Old fax line"]
        assert set(body["value"][0]) == {"Id", "RuleName", "Data"}

    def test_an_inbound_rule_names_its_trunk_when_expanded(self, xapi, simulator):
        rule = rows(xapi, "/InboundRules", **{"$expand": "TrunkDN", "$top": 1})[0]
        trunk = simulator.simulator.get("Trunks", rule["TrunkDN"]["Id"])
        assert rule["TrunkDN"]["Number"] == trunk["Number"]
        assert "TrunkDN" not in rows(xapi, "/InboundRules", **{"$top": 1})[0]

    def test_outbound_rules_route_through_trunks_by_id_and_name(self, xapi, simulator):
        trunks = {t["Id"]: t for t in rows(xapi, "/Trunks", **{"$expand": "*"})}
        for rule in rows(xapi, "/OutboundRules"):
            assert rule["EmergencyRule"] is False
            for route in rule["Routes"]:
                assert trunks[route["TrunkId"]]["Gateway"]["Name"] == route["TrunkName"]

    def test_did_numbers_are_keyed_by_their_number_and_sort_and_filter(self, xapi, simulator):
        dids = rows(xapi, "/DidNumbers", **{"$orderby": "Number desc"})
        numbers = [did["Number"] for did in dids]
        assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)
        trunk_id = dids[0]["TrunkId"]
        filtered = rows(xapi, "/DidNumbers", **{"$filter": f"TrunkId eq {trunk_id}"})
        assert filtered and {did["TrunkId"] for did in filtered} == {trunk_id}
        rule = rows(xapi, "/InboundRules", **{"$top": 1})[0]
        expanded = rows(xapi, "/DidNumbers", **{"$expand": "RoutingRule"})
        routed = next(did for did in expanded if did["Number"] == rule["Data"])
        assert routed["RoutingRule"]["Id"] == rule["Id"]

    def test_a_sip_device_names_its_extension_and_its_registration(self, xapi, simulator):
        devices = rows(xapi, "/SipDevices", **{"$expand": "DN"})
        users = {u["Number"]: u for u in rows(xapi, "/Users", **{"$select": "Number,IsRegistered"})}
        assert devices
        for device in devices:
            assert device["DN"]["Type"] == "Extension" and device["DN"]["Number"] in users
            registrar = device["Registrar"]
            assert registrar is None or re.fullmatch(r"10\.0\.\d+\.\d+", registrar["IpAddress"])
        assert any(device["Registrar"] is None for device in devices)

    def test_the_phone_web_password_is_served_only_unless_left_out_by_select(self, xapi):
        assert all(device["PhoneWebPassword"] for device in rows(xapi, "/SipDevices"))
        safe = rows(xapi, "/SipDevices", **{"$select": "Id,ProvLink,Registrar"})
        assert not any("PhoneWebPassword" in device for device in safe)

    def test_backups_list_and_delete_by_file_name(self, xapi, simulator):
        backups = rows(xapi, "/Backups", **{"$orderby": "CreationTime desc", "$count": "true"})
        assert len(backups) == 3
        name = backups[-1]["FileName"]
        assert xapi.delete(f"/Backups('{name}')").status_code == 204
        assert xapi.delete(f"/Backups('{name}')").status_code == 404
        assert name not in {b["FileName"] for b in rows(xapi, "/Backups")}

    def test_writes_follow_the_spec_new_rules_yes_new_dids_no(self, xapi):
        created = xapi.post(
            "/OutboundRules",
            json={"Name": "Emergency", "Prefix": "911", "EmergencyRule": True, "Routes": []},
        )
        assert created.status_code == 201, created.text
        key = created.json()["Id"]
        assert xapi.patch(f"/OutboundRules({key})", json={"Prefix": "112"}).status_code == 204
        assert xapi.get(f"/OutboundRules({key})").json()["Prefix"] == "112"
        assert xapi.delete(f"/OutboundRules({key})").status_code == 204
        assert xapi.post("/DidNumbers", json={"Number": "+15555550100"}).status_code == 405
        assert xapi.post("/SipDevices", json={}).status_code == 405


class TestForwardingAndRoutes:
    def test_forwarding_profiles_expand_on_users_and_list_by_user(self, xapi):
        users = rows(xapi, "/Users", **{"$expand": "ForwardingProfiles($select=Id,Name)"})
        names = [p["Name"] for p in users[0]["ForwardingProfiles"]]
        assert names == ["Available", "Away", "Out of office", "Custom 1", "Custom 2"]
        nested = rows(xapi, f"/Users({users[0]['Id']})/ForwardingProfiles")
        assert [p["Id"] for p in nested] == [p["Id"] for p in users[0]["ForwardingProfiles"]]
        assert nested[0]["AvailableRoute"]["NoAnswerInternal"]["To"] == "VoiceMail"

    def test_a_patch_with_forwarding_profiles_replaces_them(self, xapi, simulator):
        user = rows(xapi, "/Users", **{"$top": 1, "$expand": "ForwardingProfiles"})[0]
        profiles = user["ForwardingProfiles"]
        profiles[0]["AvailableRoute"]["NoAnswerExternal"] = {
            "To": "External",
            "External": "+33 1 23 45 67 89",
        }
        response = xapi.patch(f"/Users({user['Id']})", json={"ForwardingProfiles": profiles})
        assert response.status_code == 204
        served = rows(xapi, f"/Users({user['Id']})/ForwardingProfiles")[0]
        route = served["AvailableRoute"]["NoAnswerExternal"]
        assert route["External"] == "+33 1 23 45 67 89" and route["Type"] == "None"

    def test_the_first_ivr_sends_out_of_office_calls_outside(self, xapi):
        ivr = rows(xapi, "/Receptionists", **{"$orderby": "Number", "$top": 1})[0]
        assert ivr["OutOfOfficeRoute"]["Route"]["To"] == "External"
        assert ivr["OutOfOfficeRoute"]["Route"]["External"]
        assert ivr["BreakRoute"]["Route"]["To"] == "VoiceMail"


class TestSettings:
    def test_the_licence_status_masks_nothing_and_matches_system_status(self, xapi):
        licence = xapi.get("/LicenseStatus").json()
        status = xapi.get("/SystemStatus").json()
        assert licence["LicenseKey"] == "SIMU-LATO-R000-0001" == status["LicenseKey"]
        for name in ("ExpirationDate", "MaintenanceExpiresAt", "LicenseActive", "Activated"):
            assert licence[name] == status[name]

    def test_anti_hacking_settings_read_and_patch_like_a_real_server(self, xapi):
        assert xapi.get("/AntiHackingSettings").json()["SecurityDefenseProgram"] is False
        changes = {"SecurityDefenseProgram": True, "HackAuthRequests": 25}
        assert xapi.patch("/AntiHackingSettings", json=changes).status_code == 204
        served = xapi.get("/AntiHackingSettings", params={"$select": "HackAuthRequests"}).json()
        assert served["HackAuthRequests"] == 25 and "SecurityDefenseProgram" not in served
        wrong = xapi.patch("/AntiHackingSettings", json={"HackAuthRequests": "many"})
        assert wrong.status_code == 400 and "HackAuthRequests" in wrong.json()["error"]["message"]
        assert xapi.delete("/AntiHackingSettings").status_code == 405

    def test_backup_settings_come_from_their_function(self, xapi):
        settings = xapi.get("/Backups/Pbx.GetBackupSettings()").json()
        assert settings["ScheduleEnabled"] is False
        assert settings["Schedule"]["ScheduleType"] == "Daily"
        assert settings["Contents"]["EncryptBackupPassword"] is None


class TestScale:
    def test_a_big_pbx_has_proportionally_more_routing_and_devices(self):
        sim = Simulator(SimulatorConfig(users=2000, contacts=100_000))
        sets = sim.directory.sets
        assert sets["InboundRules"].count() >= 2000 // 25
        assert sets["DidNumbers"].count() >= 2000 // 25
        assert 600 <= sets["SipDevices"].count() <= 1000
        assert sets["OutboundRules"].count() == 3
        assert sim.directory.contact_factory.built == 0

    def test_a_tiny_pbx_still_answers_every_set(self):
        with SimulatorServer(Simulator(SimulatorConfig(users=1, contacts=0, trunks=1))) as server:
            token = requests.post(
                f"{server.base_url}/connect/token",
                data={
                    "client_id": "900",
                    "client_secret": "simulator-secret",
                    "grant_type": "client_credentials",
                },
                timeout=10,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for path in ("InboundRules", "OutboundRules", "DidNumbers", "SipDevices", "Backups"):
                response = requests.get(
                    f"{server.base_url}/xapi/v1/{path}", headers=headers, timeout=10
                )
                assert response.status_code == 200, path


@pytest.mark.parametrize("users", [30, 50])
def test_the_same_seed_gives_the_same_audit_data(users):
    config = SimulatorConfig(users=users, contacts=0)
    first, second = Simulator(config), Simulator(config)
    for name in ("InboundRules", "OutboundRules", "DidNumbers", "SipDevices", "Backups"):
        assert list(first.directory.sets[name].items()) == list(second.directory.sets[name].items())
