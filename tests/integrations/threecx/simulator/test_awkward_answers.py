"""The simulator as awkward 3CX servers are: capped pages, counts that lie, ids at the spec's
edges, nulls in key fields, one endpoint failing alone, versions with three or four parts.

Each is a `SimulatorConfig` option (and a `manage.py threecx_simulator` flag); page caps and
counts are also faults, and the answering options change at run time through
`Simulator.reconfigure` or `POST /_simulator/config`.
"""

import pytest
import requests

from integrations.threecx.simulator import Fault
from integrations.threecx.simulator.store import EDGE_IDS, INT32_MAX, INT32_MIN
from tests.integrations.threecx.conftest import XapiSession


@pytest.fixture
def session(token_for):
    """session(server) -> an XapiSession authenticated against that server."""
    sessions = []

    def open_session(server) -> XapiSession:
        sessions.append(XapiSession(server.base_url, token_for(server)))
        return sessions[-1]

    yield open_session
    for opened in sessions:
        opened.close()


def control(server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{server.base_url}/_simulator{path}", timeout=10, **kwargs)


def rows(xapi, path: str, **params) -> list[dict]:
    response = xapi.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


class TestPageSizeCap:
    def test_no_answer_holds_more_rows_than_the_cap_whatever_top_asks(
        self, make_simulator, session
    ):
        xapi = session(make_simulator(users=30, max_page_size=7))
        assert len(rows(xapi, "/Users", **{"$top": 500})) == 7
        assert len(rows(xapi, "/Users")) == 7
        assert len(rows(xapi, "/Users", **{"$top": 3})) == 3
        assert len(rows(xapi, "/Users", **{"$top": 500, "$orderby": "LastName"})) == 7

    def test_the_count_stays_the_whole_collections(self, make_simulator, session):
        xapi = session(make_simulator(users=30, max_page_size=7))
        body = xapi.get("/Users", params={"$count": "true", "$top": 500}).json()
        assert (body["@odata.count"], len(body["value"])) == (30, 7)

    def test_nested_collections_are_capped_too(self, make_simulator, session):
        xapi = session(make_simulator(users=30, max_page_size=2))
        group = rows(xapi, "/Groups", **{"$select": "Id"})[0]
        assert len(rows(xapi, f"/Groups({group['Id']})/Members")) == 2

    def test_a_page_size_fault_caps_only_the_paths_it_matches(self, simulator, xapi):
        created = control(
            simulator,
            "POST",
            "/faults",
            json={"match": "^/xapi/v1/Contacts$", "kind": "page_size", "max_page_size": 5},
        )
        assert created.status_code == 201
        assert len(rows(xapi, "/Contacts", **{"$top": 50})) == 5
        assert len(rows(xapi, "/Users", **{"$top": 20})) == 20

    def test_the_smaller_of_two_caps_wins(self, make_simulator, session):
        server = make_simulator(max_page_size=8)
        server.simulator.faults.add(Fault(match="Users", kind="page_size", max_page_size=3))
        assert len(rows(session(server), "/Users")) == 3

    @pytest.mark.parametrize("cap", [0, -1, None, "10", True])
    def test_a_page_size_fault_needs_a_cap_of_at_least_one(self, simulator, cap):
        fault = {"match": "Users", "kind": "page_size", "max_page_size": cap}
        response = control(simulator, "POST", "/faults", json=fault)
        assert response.status_code == 400
        assert "max_page_size" in response.json()["error"]


class TestCounts:
    @pytest.mark.parametrize(
        ("odata_count", "expected"),
        [("negative", -4548194217860088), ("huge", 2**63 - 1), ("exact", 30)],
    )
    def test_the_count_says_what_it_is_told(self, make_simulator, session, odata_count, expected):
        xapi = session(make_simulator(users=30, odata_count=odata_count))
        body = xapi.get("/Users", params={"$count": "true", "$top": 5}).json()
        assert body["@odata.count"] == expected
        assert len(body["value"]) == 5

    def test_a_missing_count_is_left_out(self, make_simulator, session):
        xapi = session(make_simulator(odata_count="missing"))
        assert "@odata.count" not in xapi.get("/Users", params={"$count": "true"}).json()

    @pytest.mark.parametrize("value", [-1, 2**53, "12", 12.5, None])
    def test_a_count_fault_answers_any_json_value(self, simulator, xapi, value):
        fault = {"match": "^/xapi/v1/Users$", "kind": "odata_count", "odata_count": value}
        assert control(simulator, "POST", "/faults", json=fault).status_code == 201
        body = xapi.get("/Users", params={"$count": "true"}).json()
        assert body.get("@odata.count", "left out") == ("left out" if value is None else value)
        assert xapi.get("/Groups", params={"$count": "true"}).json()["@odata.count"] > 0

    def test_no_count_is_given_unless_asked_for(self, simulator, xapi):
        simulator.simulator.faults.add(Fault(match="Users", kind="odata_count", odata_count=-1))
        assert "@odata.count" not in xapi.get("/Users").json()


class TestIdsAtTheSpecsEdges:
    def test_users_and_contacts_are_served_at_every_edge(self, make_simulator, session):
        xapi = session(make_simulator(edge_ids=True))
        for set_name in ("Users", "Contacts"):
            served = {row["Id"] for row in rows(xapi, f"/{set_name}", **{"$select": "Id"})}
            assert set(EDGE_IDS) <= served, set_name
            for key in EDGE_IDS:
                item = xapi.get(f"/{set_name}({key})").json()
                assert item["Id"] == key and item["LastName"] == f"Id {key}"

    def test_collections_stay_in_key_order_across_pages(self, make_simulator, session):
        xapi = session(make_simulator(edge_ids=True, contacts=40))
        seen = []
        for skip in range(0, 60, 9):
            seen += [row["Id"] for row in rows(xapi, "/Contacts", **{"$top": 9, "$skip": skip})]
        assert seen == sorted(seen)
        assert (seen[0], seen[-1], len(seen)) == (INT32_MIN, INT32_MAX, 44)

    def test_edge_ids_reach_peers(self, make_simulator, session):
        xapi = session(make_simulator(edge_ids=True))
        peers = {row["Id"] for row in rows(xapi, "/Peers", **{"$select": "Id"})}
        assert set(EDGE_IDS) <= peers

    @pytest.mark.parametrize("key", [INT32_MIN, 0, INT32_MAX])
    def test_a_mutation_may_use_any_int32_id(self, simulator, key):
        response = control(
            simulator,
            "POST",
            "/mutations",
            json={"op": "add", "set": "Contacts", "item": {"Id": key, "FirstName": "Ed"}},
        )
        assert response.status_code == 201
        assert response.json()["item"]["Id"] == key

    @pytest.mark.parametrize("key", [INT32_MIN - 1, INT32_MAX + 1, 2**53, "5", True])
    def test_an_id_outside_int32_is_refused(self, simulator, key):
        response = control(
            simulator,
            "POST",
            "/mutations",
            json={"op": "add", "set": "Users", "item": {"Id": key, "FirstName": "Ed"}},
        )
        assert response.status_code == 400
        assert "int32" in response.json()["error"]


class TestNullsInKeyFields:
    def test_a_user_without_a_number_and_contacts_without_names(self, make_simulator, session):
        xapi = session(make_simulator(null_key_fields=True))
        users = rows(xapi, "/Users", **{"$select": "Id,Number,DisplayName"})
        assert [user["DisplayName"] for user in users if user["Number"] is None] == [
            "Nobody's Number"
        ]
        fields = "Id,FirstName,LastName,CompanyName,PhoneNumber"
        nameless = [
            contact
            for contact in rows(xapi, "/Contacts", **{"$select": fields})
            if contact["FirstName"] is None
        ]
        assert [(c["LastName"], c["CompanyName"]) for c in nameless] == [(None, None)] * 2
        assert sorted(c["PhoneNumber"] or "" for c in nameless) == ["", "+44 20 7946 0018"]

    def test_the_number_less_user_is_a_peer_without_a_number(self, make_simulator, session):
        xapi = session(make_simulator(null_key_fields=True))
        peers = rows(xapi, "/Peers", **{"$select": "Number,Name"})
        assert {"Number": None, "Name": "Nobody's Number"} in peers


class TestOneEndpointFailingAlone:
    def test_system_status_can_fail_while_everything_else_answers(self, simulator, xapi):
        fault = {"match": "^/xapi/v1/SystemStatus$", "kind": "status", "status": 500}
        assert control(simulator, "POST", "/faults", json=fault).status_code == 201
        assert xapi.get("/SystemStatus").status_code == 500
        assert xapi.get("/Defs", params={"$select": "Id"}).status_code == 200
        assert xapi.get("/Users").status_code == 200
        assert xapi.get("/Contacts").status_code == 200


class TestVersions:
    @pytest.mark.parametrize(
        ("version", "expires_in"),
        [("20.0.8", 60), ("20.0.8.1109", 60), ("20.0.10", 3600), ("20.0.10.999", 3600)],
    )
    def test_three_and_four_part_versions_are_served_everywhere(
        self, make_simulator, session, version, expires_in
    ):
        server = make_simulator(version=version, token_lifetime=3600)
        xapi = session(server)
        assert xapi.get("/Defs", params={"$select": "Id"}).headers["X-3CX-Version"] == version
        assert xapi.get("/SystemStatus").json()["Version"] == version
        config = server.simulator.config
        token = requests.post(
            f"{server.base_url}/connect/token",
            data={
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "grant_type": "client_credentials",
            },
            timeout=10,
        )
        assert token.json()["expires_in"] == expires_in

    def test_an_upgrade_shows_in_the_header_the_status_and_the_token(self, simulator, xapi):
        response = control(simulator, "POST", "/config", json={"version": "20.0.10.999"})
        assert response.status_code == 200
        assert response.json()["version"] == "20.0.10.999"
        assert control(simulator, "GET", "/config").json()["version"] == "20.0.10.999"
        assert xapi.get("/Users").headers["X-3CX-Version"] == "20.0.10.999"
        assert xapi.get("/SystemStatus").json()["Version"] == "20.0.10.999"
        simulator.simulator.reconfigure(version="20.0.8")
        assert simulator.simulator.config.expires_in == 60
        assert xapi.get("/SystemStatus").json()["Version"] == "20.0.8"

    def test_answering_options_change_at_run_time(self, simulator, xapi):
        changes = {"max_page_size": 4, "odata_count": "missing"}
        assert control(simulator, "POST", "/config", json=changes).status_code == 200
        body = xapi.get("/Users", params={"$count": "true"}).json()
        assert len(body["value"]) == 4 and "@odata.count" not in body

    @pytest.mark.parametrize(
        "changes",
        [
            {"version": "20"},
            {"version": "20.0.10.999.1"},
            {"version": 20},
            {"max_page_size": 0},
            {"odata_count": "sometimes"},
            {"users": 10},
            {"nonsense": 1},
            [1],
        ],
        ids=repr,
    )
    def test_a_change_that_does_not_fit_is_a_400_and_changes_nothing(self, simulator, changes):
        before = control(simulator, "GET", "/config").json()
        response = control(simulator, "POST", "/config", json=changes)
        assert response.status_code == 400
        assert response.json()["error"]
        assert control(simulator, "GET", "/config").json() == before
