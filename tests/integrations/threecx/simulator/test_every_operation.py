"""Every operation of the spec, called through the client over real HTTP, answers as the spec
says: a success status it declares, a body valid against its response schema, and no
property the schema does not declare.

Requests are built as the XAPI console builds them (`example_arguments` + `request_prepare`)
and sent with `ThreeCXClient.operation_call`. Operations on the sets the simulator models
for real get a key that exists (a fresh item for a DELETE), since those answer 404 for an
unknown one; everything else is answered from the spec by the generic fallback.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from integrations.threecx.operations.catalogue import Operation, operation_get, operations
from integrations.threecx.operations.requests import example_arguments, request_prepare
from integrations.threecx.operations.schemas import schema_validator
from integrations.threecx.simulator import Simulator, SimulatorServer
from integrations.threecx.simulator.store import ENTITY_TYPES, KEY_FIELDS
from integrations.threecx.spec import enum_values, load_spec
from tests.integrations.threecx.clients import simulator_client
from tests.integrations.threecx.conftest import SMALL, fetch_token

# The item a template is bound to: /Users({Id}), /Users(Number={Number})/..., /Backups({FileName}).
_BOUND = re.compile(r"/(?P<set>\w+)\((?P<number>Number=)?\{(?P<key>\w+)\}\)")
# Modelled operations that want more than the smallest body the spec accepts.
BODIES = {
    "GetDirectoryInfo": {"parameters": {"Filesystem": enum_values("Pbx.FileSystemType")[0]}},
}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(Simulator(SMALL)) as running:
        yield running


@pytest.fixture
def client(server, settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
    return simulator_client(server)


@pytest.mark.parametrize("operation_id", list(operations()))
def test_every_operation_answers_as_the_spec_says(server, client, operation_id):
    operation = operation_get(operation_id)
    params, body = example_arguments(operation)
    params.update(modelled_key(server.simulator, operation))
    if operation_id in BODIES:
        body = json.dumps(BODIES[operation_id])
    answer = client.operation_call(request_prepare(operation, params=params, body=body))

    declared = [status for status in operation.responses if status != "default"]
    assert str(answer.status) in declared, f"{answer.status}, the spec says {declared}"
    schema = operation.responses[str(answer.status)]
    if schema is None:
        assert answer.size == 0
        return
    errors = sorted(schema_validator(schema).iter_errors(answer.data), key=str)
    assert not errors, "; ".join(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors[:5]
    )
    assert_declared(answer.data, schema)


class TestGeneratedAnswers:
    def test_the_same_request_gets_the_same_answer(self, xapi, simulator):
        path = "/ActivityLog/Pbx.GetLogs(startDate=2024-01-01T00:00:00Z,"
        path += "endDate=2024-01-31T00:00:00Z,extension='100',call=null,severity=null)"
        first, second = xapi.get(path).json(), xapi.get(path).json()
        assert first == second and first["value"]
        with SimulatorServer(Simulator(SMALL)) as other:
            token = fetch_token(other).json()["access_token"]
            third = requests.get(
                f"{other.base_url}/xapi/v1{path}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
        assert third["value"] == first["value"]

    def test_another_key_gets_another_answer(self, xapi):
        assert xapi.get("/Fax(5)").json() != xapi.get("/Fax(6)").json()

    def test_operations_answering_nothing_answer_204_without_a_body(self, xapi):
        response = xapi.post("/Services/Pbx.Restart", json={"options": {}})
        assert response.status_code == 204
        assert response.content == b""
        assert xapi.delete("/Holidays(3)").status_code == 204

    def test_a_created_entity_answers_201_with_the_entity(self, xapi):
        response = xapi.post("/Holidays", json={"Name": "Bank holiday"})
        assert response.status_code == 201
        body = response.json()
        assert body["@odata.context"].endswith("$metadata#Holidays/$entity")
        assert isinstance(body["Id"], int)

    def test_generated_answers_hold_values_in_secret_fields(self, xapi):
        fax = xapi.get("/Fax(5)").json()
        assert fax["AuthPassword"].startswith("sim-secret-")
        users = xapi.get("/Users", params={"$select": "Id", "$top": 1}).json()["value"]
        phone_secret = xapi.get(f"/Users({users[0]['Id']})/Pbx.GetPhoneSecret()").json()
        assert phone_secret["value"].startswith("sim-secret-")

    def test_a_collection_honours_top_skip_count_and_select(self, xapi):
        everything = xapi.get("/Fax", params={"$count": "true"}).json()
        total = everything["@odata.count"]
        assert 1 <= total <= 3 and len(everything["value"]) == total
        page = xapi.get(
            "/Fax", params={"$count": "true", "$skip": 1, "$top": 1, "$select": "Id,Number"}
        ).json()
        assert page["@odata.count"] == total
        assert page["value"] == [
            {"Id": row["Id"], "Number": row["Number"]} for row in everything["value"][1:2]
        ]
        assert page["@odata.context"].endswith("$metadata#Fax(Id,Number)")

    def test_a_generated_collection_expands_navigation_properties_on_demand(self, xapi):
        plain = xapi.get("/Fax", params={"$select": "Id"}).json()["value"]
        assert all("Groups" not in row for row in plain)
        expanded = xapi.get("/Fax", params={"$select": "Id", "$expand": "Groups"}).json()
        assert all(isinstance(row["Groups"], list) for row in expanded["value"])

    def test_generated_collections_follow_the_servers_paging_quirks(
        self, make_simulator, token_for
    ):
        server = make_simulator(max_page_size=1, odata_count="huge")
        response = requests.get(
            f"{server.base_url}/xapi/v1/Fax",
            params={"$count": "true"},
            headers={"Authorization": f"Bearer {token_for(server)}"},
            timeout=10,
        )
        assert len(response.json()["value"]) == 1
        assert response.json()["@odata.count"] == 2**63 - 1

    def test_a_key_that_does_not_parse_is_refused_with_400(self, xapi):
        response = xapi.get("/Fax(abc)")
        assert response.status_code == 400
        assert response.json()["error"]["message"] == (
            "The key value 'abc' is not a valid Edm.Int32 key."
        )
        bad_date = xapi.get(
            "/ActivityLog/Pbx.GetLogs(startDate=yesterday,endDate=null,extension=null,"
            "call=null,severity=null)"
        )
        assert bad_date.status_code == 400
        assert bad_date.json()["error"]["target"] == "startDate"

    def test_an_unknown_path_is_404_and_a_wrong_method_405(self, xapi):
        response = xapi.get("/NoSuchThing/Pbx.Anything()")
        assert response.status_code == 404
        assert "No HTTP resource was found" in response.json()["error"]["message"]
        refused = xapi.put("/Fax(5)", json={})
        assert refused.status_code == 405
        assert set(refused.headers["Allow"].split(", ")) == {"GET", "PATCH", "DELETE"}

    def test_a_body_that_is_not_json_is_refused_with_400(self, xapi):
        response = xapi.post(
            "/Holidays", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["target"] == "body"
        unknown = xapi.post("/Holidays", json={"Nope": 1})
        assert unknown.status_code == 400
        assert "'Nope' does not exist on type 'Pbx.Holiday'" in unknown.json()["error"]["message"]

    def test_an_unknown_option_is_refused_with_400(self, xapi):
        response = xapi.get("/Fax", params={"$select": "NoSuchProperty"})
        assert response.status_code == 400
        assert response.json()["error"]["target"] == "$select"

    def test_every_generic_route_wants_a_token(self, simulator):
        response = requests.get(f"{simulator.base_url}/xapi/v1/Fax", timeout=10)
        assert response.status_code == 401


class TestModelledSetsStayReal:
    def test_a_patch_on_a_modelled_set_really_changes_it(self, simulator, settings):
        settings.THREECX_ALLOW_HTTP = True
        settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
        operation = operation_get("UpdateUser")
        user = next(iter(simulator.simulator.directory.entity_set("Users").items()))
        prepared = request_prepare(
            operation, params={"Id": str(user["Id"])}, body='{"LastName": "Changed"}'
        )
        answer = simulator_client(simulator).operation_call(prepared)
        assert answer.status == 204
        assert simulator.simulator.get("Users", user["Id"])["LastName"] == "Changed"

    def test_a_generic_write_on_a_modelled_set_changes_nothing(self, xapi, simulator):
        before = xapi.get("/Users", params={"$count": "true", "$top": 0}).json()
        response = xapi.post("/Users/Pbx.BatchDelete", json={"ids": [before["@odata.count"]]})
        assert response.status_code == 200
        after = xapi.get("/Users", params={"$count": "true", "$top": 0}).json()
        assert after["@odata.count"] == before["@odata.count"]

    def test_an_operation_bound_to_an_unknown_item_of_a_modelled_set_is_404(self, xapi):
        response = xapi.post("/Users(99999)/Pbx.SendWelcomeEmail")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No Users entity found with key 99999."

    def test_a_missing_set_takes_its_operations_away(self, make_simulator, token_for):
        server = make_simulator(missing=("Fax",))
        headers = {"Authorization": f"Bearer {token_for(server)}"}
        response = requests.get(f"{server.base_url}/xapi/v1/Fax(5)", headers=headers, timeout=10)
        assert response.status_code == 404


def modelled_key(simulator: Simulator, operation: Operation) -> dict[str, str]:
    """A key that exists for an operation bound to an item of a set the simulator models:
    a fresh item for a DELETE of the item itself (it really goes), else the first one."""
    bound = _BOUND.match(operation.path)
    if bound is None or bound.group("set") not in ENTITY_TYPES:
        return {}
    set_name, name = bound.group("set"), bound.group("key")
    if operation.method == "DELETE" and operation.path == bound.group():
        fresh = {"FileName": "to-delete.zip"} if set_name == "Backups" else {}
        item = simulator.add(set_name, fresh)
    else:
        entity_set = simulator.directory.entity_set(set_name)
        item = next(item for item in entity_set.items() if item.get(name) is not None)
    field = "Number" if bound.group("number") else KEY_FIELDS.get(set_name, "Id")
    return {name: str(item[field])}


def assert_declared(value: Any, schema: dict[str, Any], where: str = "") -> None:
    """Every property of `value` (recursively) is one `schema` declares: JSON Schema lets
    extra properties through, the spec's answers never hold any."""
    if isinstance(value, list):
        items = _resolved(schema).get("items")
        for index, item in enumerate(value):
            if items is not None:
                assert_declared(item, items, f"{where}[{index}]")
        return
    if not isinstance(value, dict):
        return
    properties = _properties(schema)
    for name, item in value.items():
        if "@odata." in name:
            continue
        assert name in properties, f"{where}{name} is not declared by the spec"
        assert_declared(item, properties[name], f"{where}{name}/")


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return load_spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    parts = schema.get("allOf") or schema.get("anyOf") or schema.get("oneOf") or []
    if len(parts) == 1 and "properties" not in schema:
        return _resolved(parts[0])
    return schema


def _properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    schema = _resolved(schema)
    found: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", []):
        found.update(_properties(part))
    found.update(schema.get("properties", {}))
    return found
