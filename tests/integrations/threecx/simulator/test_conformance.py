"""Every answer the simulator gives validates against the official spec's response schema.

swagger.yaml is OpenAPI 3.0: `nullable: true` is not JSON Schema, so the schemas go through the
project's one conversion (`integrations.threecx.operations.schemas.json_schema`) and are
validated with jsonschema's Draft 2020-12 validator. JSON Schema allows extra properties, so a
second check makes sure the simulator invents no property the spec does not declare.

Every test runs twice: against the generated data, and against the awkward server other
tests use (ids at the int32 edges, nulls in key fields, capped pages, a huge
`@odata.count`, a four-part version): awkward is no excuse for answers the spec forbids.
"""

import dataclasses
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from jsonschema.protocols import Validator

from integrations.threecx.operations.schemas import schema_validator
from integrations.threecx.simulator import Fault, Simulator, SimulatorServer
from integrations.threecx.simulator.store import ENTITY_TYPES
from integrations.threecx.spec import enum_values, load_spec, schema_properties
from tests.integrations.threecx.conftest import SMALL

ENTITY_SETS = [
    "Users",
    "Contacts",
    "Groups",
    "Queues",
    "RingGroups",
    "Receptionists",
    "Trunks",
    "Parkings",
    "Peers",
    "InboundRules",
    "OutboundRules",
    "DidNumbers",
    "SipDevices",
    "Backups",
]
ODATA_ANNOTATIONS = ("@odata.context", "@odata.count")
AWKWARD = dataclasses.replace(
    SMALL,
    edge_ids=True,
    null_key_fields=True,
    max_page_size=25,
    odata_count="huge",
    version="20.0.10.999",
)


@pytest.fixture(params=[SMALL, AWKWARD], ids=["generated", "awkward"])
def simulator(request) -> Iterator[SimulatorServer]:
    with SimulatorServer(Simulator(request.param)) as server:
        yield server


@cache
def validator(path: str, method: str, status: str) -> Validator:
    """The validator for the JSON body of `method path` answering `status` (or "default")."""
    responses = load_spec()["paths"][path][method]["responses"]
    response = responses.get(status) or responses["default"]
    if "$ref" in response:
        response = load_spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return schema_validator(response["content"]["application/json"]["schema"])


def assert_conforms(response, path: str, method: str = "get") -> dict:
    status = str(response.status_code)
    body = response.json()
    errors = sorted(validator(path, method, status).iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} -> {status}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    return body


def assert_declared(value: Any, type_name: str, where: str = "") -> None:
    """Every property of `value` (recursively) is declared on `type_name` in the spec."""
    if isinstance(value, list):
        for item in value:
            assert_declared(item, type_name, where)
        return
    if not isinstance(value, dict):
        return
    declared = schema_properties(type_name)
    for name, item in value.items():
        if name.startswith("@odata.") or name.endswith("@odata.count"):
            continue
        assert name in declared, f"{where}{name} is not a property of {type_name}"
        target = _target_type(declared[name])
        if target:
            assert_declared(item, target, f"{where}{name}/")


def _target_type(definition: dict[str, Any]) -> str | None:
    if definition.get("type") == "array":
        definition = definition["items"]
    refs = [definition.get("$ref")] + [part.get("$ref") for part in definition.get("allOf", [])]
    ref = next((r for r in refs if r), None)
    if ref is None:
        return None
    name = ref.rsplit("/", 1)[-1]
    return None if "enum" in load_spec()["components"]["schemas"][name] else name


def entity_type(set_name: str) -> str:
    return ENTITY_TYPES[set_name]


def paths() -> dict[str, Any]:
    return load_spec()["paths"]


class TestEntitySets:
    @pytest.mark.parametrize("set_name", ENTITY_SETS)
    def test_the_collection_matches_its_schema(self, xapi, set_name):
        body = assert_conforms(xapi.get(f"/{set_name}", params={"$count": "true"}), f"/{set_name}")
        assert body["value"], f"{set_name} is empty"
        assert_declared(body["value"], entity_type(set_name))

    @pytest.mark.parametrize("set_name", ENTITY_SETS)
    def test_the_fully_expanded_collection_matches_its_schema(self, xapi, set_name):
        response = xapi.get(f"/{set_name}", params={"$expand": "*"})
        body = assert_conforms(response, f"/{set_name}")
        assert_declared(body["value"], entity_type(set_name))

    def test_users_with_nested_expansions_match_their_schema(self, xapi):
        response = xapi.get(
            "/Users", params={"$expand": "Groups($expand=Rights,GroupRights),Phones"}
        )
        body = assert_conforms(response, "/Users")
        assert body["value"][0]["Groups"][0]["Rights"]["RoleName"]
        assert_declared(body["value"], "Pbx.User")

    @pytest.mark.parametrize(
        "set_name", [name for name in ENTITY_SETS if f"/{name}({{Id}})" in paths()]
    )
    def test_every_entity_by_key_matches_its_schema(self, xapi, set_name):
        items = xapi.get(f"/{set_name}", params={"$select": "Id", "$top": 40}).json()["value"]
        for item in items:
            body = assert_conforms(xapi.get(f"/{set_name}({item['Id']})"), f"/{set_name}({{Id}})")
            assert_declared(body, entity_type(set_name))

    @pytest.mark.parametrize(
        "set_name", [name for name in ENTITY_SETS if f"/{name}(Number={{Number}})" in paths()]
    )
    def test_entities_by_number_match_their_schema(self, xapi, set_name):
        items = xapi.get(f"/{set_name}", params={"$select": "Number"}).json()["value"]
        for item in [item for item in items if item["Number"] is not None][:10]:
            number = item["Number"].replace("'", "''")
            response = xapi.get(f"/{set_name}(Number='{number}')")
            assert_conforms(response, f"/{set_name}(Number={{Number}})")

    @pytest.mark.parametrize(
        "template",
        sorted(
            path
            for path in paths()
            if re.fullmatch(r"/(\w+)\(\{Id\}\)/\w+", path)
            and path.split("(")[0].lstrip("/") in ENTITY_SETS
        ),
    )
    def test_nested_collections_match_their_schema(self, xapi, template):
        set_name, nav = template.lstrip("/").split("({Id})/")
        for item in xapi.get(f"/{set_name}", params={"$select": "Id"}).json()["value"]:
            body = assert_conforms(xapi.get(f"/{set_name}({item['Id']})/{nav}"), template)
            element = _target_type(schema_properties(entity_type(set_name))[nav])
            assert_declared(body["value"], element)


class TestSingletonsAndActions:
    def test_system_status_matches_its_schema(self, xapi):
        body = assert_conforms(xapi.get("/SystemStatus"), "/SystemStatus")
        assert_declared(body, "Pbx.SystemStatus")

    @pytest.mark.parametrize(
        "path", ["/LicenseStatus", "/AntiHackingSettings", "/Backups/Pbx.GetBackupSettings()"]
    )
    def test_the_audit_settings_match_their_schema(self, xapi, path):
        body = assert_conforms(xapi.get(path), path)
        returns = load_spec()["paths"][path]["get"]["responses"]["200"]
        schema_ref = returns["content"]["application/json"]["schema"]["$ref"]
        assert_declared(body, schema_ref.rsplit("/", 1)[-1])

    def test_users_with_their_forwarding_profiles_match_their_schema(self, xapi):
        body = assert_conforms(
            xapi.get("/Users", params={"$expand": "ForwardingProfiles"}), "/Users"
        )
        routes = [
            p["AwayRoute"]["External"] for u in body["value"] for p in u["ForwardingProfiles"]
        ]
        assert any(route["To"] == "External" for route in routes)
        assert_declared(body["value"], "Pbx.User")

    def test_defs_matches_its_schema(self, xapi):
        assert_conforms(xapi.get("/Defs", params={"$select": "Id"}), "/Defs")
        assert_conforms(xapi.get("/Defs", params={"$expand": "*"}), "/Defs")

    @pytest.mark.parametrize("filesystem", enum_values("Pbx.FileSystemType"))
    def test_every_folder_of_every_filesystem_matches_the_schema(self, xapi, filesystem):
        pending, seen = [None], 0
        while pending:
            path = pending.pop()
            response = xapi.post(
                "/GetDirectoryInfo", json={"parameters": {"Filesystem": filesystem, "Path": path}}
            )
            body = assert_conforms(response, "/GetDirectoryInfo", "post")
            assert_declared(body, "Pbx.SystemDirectory")
            pending += body["Dirs"]
            seen += 1
        assert seen > 3


class TestErrorsAndWrites:
    @pytest.mark.parametrize(
        ("method", "path", "template", "kwargs"),
        [
            ("get", "/Users?$filter=Nope eq 1", "/Users", {}),
            ("get", "/Users?$top=x", "/Users", {}),
            ("get", "/Users(999999)", "/Users({Id})", {}),
            ("get", "/Groups(999999)/Members", "/Groups({Id})/Members", {}),
            ("get", "/NoSuchSet", "/Users", {}),
            ("get", "/InboundRules(999999)", "/InboundRules({Id})", {}),
            ("patch", "/AntiHackingSettings", "/AntiHackingSettings", {"json": {"Nope": 1}}),
            ("delete", "/Backups('nope.zip')", "/Backups({FileName})", {}),
            ("post", "/GetDirectoryInfo", "/GetDirectoryInfo", {"json": {"parameters": {}}}),
            ("post", "/GetDirectoryInfo", "/GetDirectoryInfo", {"data": b"nope"}),
            (
                "post",
                "/GetDirectoryInfo",
                "/GetDirectoryInfo",
                {"json": {"parameters": {"Filesystem": "Local", "Path": "/nope"}}},
            ),
            ("post", "/Users", "/Users", {"json": {"Number": "100"}}),
        ],
    )
    def test_error_bodies_match_the_odata_error_schema(self, xapi, method, path, template, kwargs):
        response = xapi.request(method, path, **kwargs)
        assert response.status_code >= 400
        assert_conforms(response, template, method)

    def test_injected_failures_carry_schema_errors_too(self, xapi, simulator):
        simulator.simulator.faults.add(
            Fault(match="Users", kind="status", status=429, retry_after=1)
        )
        assert_conforms(xapi.get("/Users"), "/Users")

    def test_a_created_entity_matches_the_schema(self, xapi):
        response = xapi.post("/Users", json={"FirstName": "Ünïcödé", "LastName": "Ñame"})
        assert response.status_code == 201
        body = assert_conforms(response, "/Users", "post")
        assert_declared(body, "Pbx.User")
