"""Changing the simulated directory between two syncs: Python API, control API, OData writes."""

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from integrations.threecx.spec import secret_fields


def user_numbers(xapi):
    return {u["Number"] for u in xapi.get("/Users", params={"$select": "Number"}).json()["value"]}


def control(server, method, path, **kwargs):
    return requests.request(method, f"{server.base_url}/_simulator{path}", timeout=10, **kwargs)


class TestPythonApi:
    def test_an_added_user_is_served_with_an_id_a_membership_and_secrets(self, xapi, simulator):
        sim = simulator.simulator
        added = sim.add(
            "Users",
            {"Number": "555", "FirstName": "Nouvel", "LastName": "Employé", "AuthPassword": "pw"},
        )
        assert added["Id"] and added["DisplayName"] == "Nouvel Employé"
        assert added["Groups"][0]["Rights"]["RoleName"] == "users"
        served = xapi.get("/Users(Number='555')").json()
        assert served["Id"] == added["Id"]
        assert served["AuthPassword"] == "pw"
        assert secret_fields("Pbx.User") <= set(sim.get("Users", added["Id"]))
        body = xapi.get("/Users", params={"$count": "true", "$top": 0}).json()
        assert body["@odata.count"] == sim.config.users + 1

    def test_an_update_shows_on_the_next_read(self, xapi, simulator):
        sim = simulator.simulator
        first = xapi.get("/Users", params={"$top": 1, "$select": "Id"}).json()["value"][0]
        sim.update("Users", first["Id"], {"LastName": "Renamed", "Enabled": False})
        served = xapi.get(
            f"/Users({first['Id']})", params={"$select": "LastName,DisplayName,Enabled"}
        )
        assert served.json()["LastName"] == "Renamed"
        assert served.json()["DisplayName"].endswith(" Renamed")
        assert served.json()["Enabled"] is False

    def test_a_deleted_user_is_gone(self, xapi, simulator):
        first = xapi.get("/Users", params={"$top": 1, "$select": "Id,Number"}).json()["value"][0]
        simulator.simulator.delete("Users", first["Id"])
        assert xapi.get(f"/Users({first['Id']})").status_code == 404
        assert first["Number"] not in user_numbers(xapi)

    @pytest.mark.parametrize(
        "set_name", ["Groups", "Queues", "RingGroups", "Receptionists", "Trunks", "Parkings"]
    )
    def test_every_directory_set_can_be_changed(self, xapi, simulator, set_name):
        sim = simulator.simulator
        added = sim.add(set_name, {})
        assert added["Number"]
        assert xapi.get(f"/{set_name}({added['Id']})").status_code == 200
        changes = {
            "Parkings": {"Number": "SP99"},
            "Trunks": {"ExternalNumber": "+441632960001"},
        }.get(set_name, {"Name": "Renamed"})
        assert sim.update(set_name, added["Id"], changes).items() >= changes.items()
        sim.delete(set_name, added["Id"])
        assert xapi.get(f"/{set_name}({added['Id']})").status_code == 404

    def test_contacts_change_on_top_of_the_generated_ones(self, xapi, simulator):
        sim = simulator.simulator
        sim.update("Contacts", 5, {"CompanyName": "Changed Ltd"})
        sim.delete("Contacts", 6)
        added = sim.add("Contacts", {"FirstName": "Zed"})
        assert xapi.get("/Contacts(5)").json()["CompanyName"] == "Changed Ltd"
        assert xapi.get("/Contacts(6)").status_code == 404
        assert xapi.get(f"/Contacts({added['Id']})").json()["FirstName"] == "Zed"
        body = xapi.get("/Contacts", params={"$count": "true", "$top": 1}).json()
        assert body["@odata.count"] == sim.config.contacts

    def test_peers_and_group_members_follow_changes(self, xapi, simulator):
        sim = simulator.simulator
        group = xapi.get("/Groups", params={"$top": 1, "$skip": 1}).json()["value"][0]
        added = sim.add("Users", {"Number": "556", "Groups": [{"GroupId": group["Id"]}]})
        members = xapi.get(f"/Groups({group['Id']})/Members").json()["value"]
        assert "556" in {m["Number"] for m in members}
        assert xapi.get("/Peers(Number='556')").json()["Id"] == added["Id"]

    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda sim: sim.add("Nope", {}), ValueError),
            (lambda sim: sim.add("Peers", {}), ValueError),
            (lambda sim: sim.add("Users", {"Frobnicate": 1}), ValueError),
            (lambda sim: sim.add("Users", {"Number": "100"}), ValueError),
            (lambda sim: sim.add("Users", {"Groups": [{"GroupId": 99999}]}), ValueError),
            (lambda sim: sim.update("Users", 99999, {}), KeyError),
            (lambda sim: sim.update("Contacts", 1, {"Id": 2}), ValueError),
            (lambda sim: sim.delete("Contacts", 99999), KeyError),
            (lambda sim: sim.get("Users", 99999), KeyError),
        ],
    )
    def test_impossible_changes_are_refused(self, call, error):
        with pytest.raises(error):
            call(Simulator(SimulatorConfig(users=10, contacts=10)))


class TestControlApi:
    def test_add_update_and_delete_over_http(self, xapi, simulator):
        created = control(
            simulator,
            "POST",
            "/mutations",
            json={"op": "add", "set": "Users", "item": {"Number": "557", "FirstName": "Remote"}},
        )
        assert created.status_code == 201
        key = created.json()["item"]["Id"]
        updated = control(
            simulator,
            "POST",
            "/mutations",
            json={"op": "update", "set": "Users", "id": key, "item": {"FirstName": "Changed"}},
        )
        assert updated.json()["item"]["FirstName"] == "Changed"
        assert xapi.get(f"/Users({key})").json()["FirstName"] == "Changed"
        deleted = control(
            simulator, "POST", "/mutations", json={"op": "delete", "set": "Users", "id": key}
        )
        assert deleted.status_code == 204
        assert xapi.get(f"/Users({key})").status_code == 404

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"op": "explode", "set": "Users"}, 400),
            ({"op": "add", "set": "Users", "item": {"Bogus": 1}}, 400),
            ({"op": "delete", "set": "Users", "id": 99999}, 404),
        ],
    )
    def test_bad_mutations_say_why(self, simulator, body, status):
        response = control(simulator, "POST", "/mutations", json=body)
        assert response.status_code == status
        assert response.json()["error"]

    def test_revoking_tokens_and_reading_stats_over_http(self, xapi, simulator):
        assert xapi.get("/Users").status_code == 200
        assert control(simulator, "POST", "/revoke-tokens").status_code == 204
        assert xapi.get("/Users").status_code == 401
        stats = control(simulator, "GET", "/stats").json()
        assert stats["token_requests"] == 1
        assert stats["requests"] >= 3

    def test_the_clock_can_be_moved_over_http(self, xapi, simulator):
        response = control(simulator, "POST", "/clock", json={"advance": 7200})
        assert response.status_code == 200
        assert xapi.get("/Users").status_code == 401

    def test_the_control_api_can_be_switched_off(self):
        config = SimulatorConfig(users=5, contacts=5, control_api=False)
        with SimulatorServer(Simulator(config)) as server:
            assert control(server, "GET", "/stats").status_code == 404


class TestODataWrites:
    def test_post_creates_and_answers_201_with_the_entity(self, xapi):
        response = xapi.post("/Groups", json={"Name": "Opérations de nuit"})
        assert response.status_code == 201
        body = response.json()
        assert body["Name"] == "Opérations de nuit"
        assert xapi.get(f"/Groups({body['Id']})").json()["Name"] == "Opérations de nuit"

    def test_patch_and_delete_answer_204(self, xapi):
        first = xapi.get("/Users", params={"$top": 1, "$select": "Id"}).json()["value"][0]
        assert (
            xapi.patch(f"/Users({first['Id']})", json={"Mobile": "+441632960000"}).status_code
            == 204
        )
        assert xapi.get(f"/Users({first['Id']})").json()["Mobile"] == "+441632960000"
        assert xapi.delete(f"/Users({first['Id']})").status_code == 204
        assert xapi.get(f"/Users({first['Id']})").status_code == 404

    def test_an_invalid_write_is_a_400(self, xapi):
        response = xapi.post("/Users", json={"Number": "100"})
        assert response.status_code == 400
        assert "already in use" in response.json()["error"]["message"]

    def test_read_only_sets_refuse_writes(self, xapi):
        assert xapi.post("/Peers", json={}).status_code == 405
