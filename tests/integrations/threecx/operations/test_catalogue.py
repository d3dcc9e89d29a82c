"""The catalogue: every operation of the carried spec, described for browsing and calling."""

import time

import pytest

from integrations.threecx.operations.catalogue import (
    CREDENTIAL_ANSWERS,
    METHODS,
    READ_ACTIONS,
    UnknownOperation,
    answer_schema_name,
    operation_get,
    operations,
    operations_search,
    tags,
)
from integrations.threecx.spec import load_spec


def spec_operations() -> dict[str, tuple[str, str]]:
    return {
        definition["operationId"]: (method.upper(), path)
        for path, item in load_spec()["paths"].items()
        for method, definition in item.items()
        if method.upper() in METHODS
    }


class TestTheCatalogue:
    def test_it_holds_every_operation_of_the_spec(self):
        expected = spec_operations()
        assert len(expected) == 601
        assert {op_id: (op.method, op.path) for op_id, op in operations().items()} == expected

    def test_it_is_ordered_by_tag_then_path_then_method(self):
        keys = [(op.tag.lower(), op.path, METHODS.index(op.method)) for op in operations().values()]
        assert keys == sorted(keys)

    def test_it_is_built_once_and_quickly(self):
        load_spec()
        started = time.perf_counter()
        fresh = operations.__wrapped__()
        assert time.perf_counter() - started < 1.0
        assert len(fresh) == 601
        assert operations() is operations()

    def test_an_unknown_operation_is_a_key_error_saying_so(self):
        with pytest.raises(KeyError) as caught:
            operation_get("listuser")
        assert isinstance(caught.value, UnknownOperation)
        assert str(caught.value).startswith("The XAPI has no operation 'listuser'")

    def test_the_tags_count_every_operation_once(self):
        counted = tags()
        assert sum(count for _, count in counted) == 601
        assert [tag for tag, _ in counted] == sorted((tag for tag, _ in counted), key=str.lower)
        assert ("Users", len([op for op in operations().values() if op.tag == "Users"])) in counted


class TestParameters:
    def test_the_shared_odata_options_are_resolved(self):
        parameters = {p.name: p for p in operation_get("ListUser").parameters}
        assert set(parameters) == {
            "$top",
            "$skip",
            "$search",
            "$filter",
            "$count",
            "$orderby",
            "$select",
            "$expand",
        }
        assert parameters["$top"].kind == "integer"
        assert parameters["$top"].schema["minimum"] == 0
        assert parameters["$count"].kind == "odata-bool"
        assert parameters["$select"].kind == "list"
        assert parameters["$filter"].kind == "string"
        assert all(
            p.odata and p.location == "query" and not p.required for p in parameters.values()
        )

    def test_path_parameters_are_required_and_typed(self):
        (user_id,) = operation_get("GetUser").path_parameters
        assert (user_id.name, user_id.location, user_id.kind) == ("Id", "path", "integer")
        assert user_id.required and not user_id.odata
        assert user_id.schema["maximum"] == 2**31 - 1
        logs = {p.name: p for p in operation_get("GetLogs").path_parameters}
        assert logs["startDate"].kind == "date-time"
        assert logs["extension"].kind == "string" and logs["extension"].nullable
        assert not logs["startDate"].nullable

    @pytest.mark.parametrize("kind", ["integer", "string", "boolean", "date-time", "uuid"])
    def test_every_kind_of_path_parameter_is_told_apart(self, kind):
        assert any(p.kind == kind for op in operations().values() for p in op.path_parameters)

    def test_header_parameters_are_not_offered(self):
        assert operation_get("DeleteUser").parameters == operation_get("GetUser").path_parameters
        assert not any(
            p.location == "header" for op in operations().values() for p in op.parameters
        )


class TestKindsAndReads:
    @pytest.mark.parametrize(
        ("operation_id", "kind"),
        [
            ("ListUser", "list"),
            ("GetUser", "read"),
            ("GetSystemStatus", "read"),
            ("CreateUser", "create"),
            ("UpdateUser", "update"),
            ("DeleteUser", "delete"),
            ("GetLogs", "function"),
            ("BatchDelete", "action"),
            ("GetDirectoryInfo", "actionImport"),
        ],
    )
    def test_each_operation_has_its_kind(self, operation_id, kind):
        assert operation_get(operation_id).kind == kind

    def test_gets_and_functions_are_reads_and_everything_else_writes(self):
        for op in operations().values():
            expected = (op.method == "GET" or op.id in READ_ACTIONS) and (
                op.id not in CREDENTIAL_ANSWERS
            )
            assert op.is_read is expected, op
            assert op.is_write is not expected

    @pytest.mark.parametrize("operation_id", sorted(CREDENTIAL_ANSWERS))
    def test_operations_that_hand_out_a_credential_are_for_admins(self, operation_id):
        assert operation_get(operation_id).is_write

    def test_the_read_only_actions_are_posts_the_spec_names_get(self):
        for operation_id in READ_ACTIONS:
            op = operation_get(operation_id)
            assert op.method == "POST" and op.id.startswith("Get")
        assert operation_get("GetDirectoryInfo").is_read
        assert not operation_get("GetSftpHostKey").is_read
        assert not operation_get("GetM365Users").is_read

    def test_entity_writes_point_at_the_read_of_the_same_entity(self):
        assert operation_get("UpdateUser").entity_read_id == "GetUser"
        assert operation_get("DeleteUser").entity_read_id == "GetUser"
        assert operation_get("UpdateAntiHackingSettings").entity_read_id == (
            "GetAntiHackingSettings"
        )
        assert operation_get("DeleteBackups").entity_read_id is None  # no GET of one backup
        assert operation_get("ListUser").entity_read_id is None
        assert operation_get("CreateUser").entity_read_id is None


class TestBodiesAndAnswers:
    def test_operations_without_a_body_say_so(self):
        op = operation_get("ListUser")
        assert op.body_schema is None and not op.body_required

    def test_entity_bodies_require_nothing(self):
        op = operation_get("UpdateUser")
        assert op.body_schema == {"$ref": "#/components/schemas/Pbx.User"}
        assert op.body_required

    def test_action_parameters_that_cannot_be_null_are_required(self):
        assert operation_get("GetDirectoryInfo").body_schema["required"] == ["parameters"]
        # GetGoogleUsers' options may be null: sending none is fine.
        assert "required" not in operation_get("GetGoogleUsers").body_schema

    def test_a_referenced_request_body_is_resolved(self):
        body = operation_get("SetMonitorStatus").body_schema
        assert body["properties"]["days"]["type"] == "integer"

    def test_answers_are_resolved_per_status(self):
        assert operation_get("UpdateUser").responses["204"] is None
        assert operation_get("ListUser").responses["default"] == {
            "$ref": "#/components/schemas/Pbx.ODataErrors.ODataError"
        }
        assert operation_get("GetUser").responses["200"] == {
            "$ref": "#/components/schemas/Pbx.User"
        }

    @pytest.mark.parametrize(
        ("operation_id", "collection", "schema_name"),
        [
            ("ListUser", True, "Pbx.User"),
            ("GetUser", False, "Pbx.User"),
            ("GetLogs", True, "Pbx.ActivityLogEvent"),
            ("GetDirectoryInfo", False, "Pbx.SystemDirectory"),
            ("GetDuplicatedEmails", True, None),
            ("GetSftpHostKey", False, None),
            ("UpdateUser", False, None),
        ],
    )
    def test_collections_and_their_items_are_known(self, operation_id, collection, schema_name):
        op = operation_get(operation_id)
        assert op.returns_collection is collection
        assert answer_schema_name(op) == schema_name


class TestSearch:
    def test_no_words_find_everything_in_order(self):
        assert operations_search() == list(operations().values())
        assert operations_search("   ") == list(operations().values())

    def test_every_word_must_match_in_any_case(self):
        found = operations_search("DIRECTORY info")
        assert [op.id for op in found] == ["GetDirectoryInfo"]
        assert operations_search("directory nosuchword") == []

    def test_paths_summaries_and_tags_are_searched(self):
        assert operation_get("GetUser") in operations_search("/Users({Id})")
        assert operation_get("GetLogs") in operations_search("invoke function getlogs")
        assert {op.tag for op in operations_search("activitylog")} == {"ActivityLog"}

    def test_a_tag_narrows_the_search(self):
        found = operations_search("get", tag="Users")
        assert found and all(op.tag == "Users" for op in found)
        assert operations_search(tag="NoSuchTag") == []

    def test_searching_is_instant(self):
        operations_search("warm up")
        started = time.perf_counter()
        for word in ("user", "get list", "pbx.", "queue agent statistics", "zzz"):
            operations_search(word)
        assert time.perf_counter() - started < 0.5
