"""OpenAPI 3.0 schemas of the spec as JSON Schema 2020-12, and as readable rows."""

import pytest
from jsonschema import Draft202012Validator

from integrations.threecx.operations.catalogue import operation_get
from integrations.threecx.operations.schemas import (
    OutlineRow,
    json_schema,
    schema_outline,
    schema_resolve,
    schema_validator,
    type_label,
)
from integrations.threecx.spec import load_spec


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def valid(node: dict, instance) -> bool:
    return Draft202012Validator(json_schema(node)).is_valid(instance)


class TestConversion:
    def test_a_nullable_type_also_accepts_null(self):
        converted = json_schema({"type": "string", "nullable": True})
        assert converted["type"] == ["string", "null"]
        assert "nullable" not in converted

    def test_a_nullable_enum_gets_null_among_its_values(self):
        node = {"type": "string", "enum": ["A", "B"], "nullable": True}
        assert json_schema(node)["enum"] == ["A", "B", None]
        assert valid(node, None) and not valid(node, "C")

    def test_a_nullable_reference_becomes_an_alternative_with_null(self):
        node = {"allOf": [ref("Pbx.FileSystemType")], "nullable": True}
        converted = json_schema(node)
        assert converted["anyOf"][1] == {"type": "null"}
        assert valid(node, None) and valid(node, "Local") and not valid(node, "Floppy")

    def test_references_point_into_the_schemas_own_defs(self):
        converted = json_schema(operation_get("GetDirectoryInfo").body_schema)
        assert converted["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert converted["properties"]["parameters"] == {"$ref": "#/$defs/Pbx.DirectoryParameters"}
        # Pbx.FileSystemType is reached through Pbx.DirectoryParameters: copied too.
        assert set(converted["$defs"]) == {"Pbx.DirectoryParameters", "Pbx.FileSystemType"}
        assert "components" not in converted

    def test_a_schema_without_references_has_no_defs(self):
        assert "$defs" not in json_schema({"type": "integer"})

    def test_overlapping_one_of_alternatives_accept_null(self):
        rate = ref("Pbx.CallCostSettings")
        assert valid(rate, {"Rate": None}) and valid(rate, {"Rate": 1.5})
        assert not valid(rate, {"Rate": True})

    def test_properties_named_like_keywords_are_kept(self):
        node = {
            "type": "object",
            "properties": {"nullable": {"type": "boolean"}, "enum": {"type": "integer"}},
        }
        converted = json_schema(node)
        assert set(converted["properties"]) == {"nullable", "enum"}
        assert not valid(node, {"enum": "x"})

    def test_the_spec_itself_is_left_untouched(self):
        body = operation_get("GetDirectoryInfo").body_schema
        json_schema(body)
        assert body["properties"]["parameters"] == ref("Pbx.DirectoryParameters")
        assert (
            "nullable"
            in load_spec()["components"]["schemas"]["Pbx.DirectoryParameters"]["properties"]["Path"]
        )

    def test_every_component_converts_to_a_valid_json_schema(self):
        names = list(load_spec()["components"]["schemas"])
        converted = json_schema({"anyOf": [ref(name) for name in names]})
        assert set(converted["$defs"]) == set(names)
        Draft202012Validator.check_schema(converted)


class TestValidators:
    def test_a_validator_is_built_once_per_schema_object(self):
        body = operation_get("GetDirectoryInfo").body_schema
        assert schema_validator(body) is schema_validator(body)
        assert schema_validator(dict(body)) is not schema_validator(body)

    def test_it_accepts_what_the_spec_allows_and_refuses_the_rest(self):
        validator = schema_validator(operation_get("GetDirectoryInfo").body_schema)
        assert validator.is_valid({"parameters": {"Filesystem": "Local", "Path": None}})
        assert validator.is_valid({"parameters": {"Filesystem": "Local", "Unknown": 1}})
        assert not validator.is_valid({"parameters": {"Filesystem": "Floppy"}})
        assert not validator.is_valid({})

    def test_int32_bounds_and_date_time_patterns_are_enforced(self):
        validator = schema_validator(ref("Pbx.RefreshToken"))
        assert validator.is_valid({"Id": 2**31 - 1, "Created": "2024-01-31T09:00:00Z"})
        assert not validator.is_valid({"Id": 2**31})
        assert not validator.is_valid({"Created": "31/01/2024"})


class TestResolution:
    def test_references_and_all_of_parts_are_merged(self):
        resolved, name = schema_resolve({"allOf": [ref("Pbx.User")], "nullable": True})
        assert name == "Pbx.User"
        assert {"Id", "Number", "AuthPassword"} <= set(resolved["properties"])
        assert resolved["nullable"] is True

    @pytest.mark.parametrize(
        ("node", "label"),
        [
            ({"type": "string"}, "string"),
            ({"type": "integer", "format": "int32"}, "integer (int32)"),
            ({"type": "string", "format": "date-time"}, "date-time"),
            (ref("Pbx.FileSystemType"), "enum"),
            (ref("Pbx.User"), "Pbx.User"),
            ({"type": "array", "items": ref("Pbx.Group")}, "array of Pbx.Group"),
            ({"type": "object", "properties": {"a": {"type": "string"}}}, "object"),
            (
                {"oneOf": [{"type": "number"}, {"type": "string"}, ref("ReferenceNumeric")]},
                "number or string or enum",
            ),
        ],
    )
    def test_types_read_as_words(self, node, label):
        assert type_label(node) == label


class TestOutline:
    def test_each_property_is_a_row_below_its_parent(self):
        rows = schema_outline(operation_get("GetDirectoryInfo").body_schema)
        assert [(row.path, row.depth) for row in rows] == [
            ("parameters", 0),
            ("parameters.Filesystem", 1),
            ("parameters.Json", 1),
            ("parameters.Path", 1),
        ]
        parameters, filesystem, json_row, _ = rows
        assert parameters.required and parameters.ref == "Pbx.DirectoryParameters"
        assert filesystem == OutlineRow(
            path="parameters.Filesystem",
            type="enum",
            required=False,
            nullable=False,
            read_only=False,
            enum=tuple(load_spec()["components"]["schemas"]["Pbx.FileSystemType"]["enum"]),
            description="",
            ref="Pbx.FileSystemType",
            depth=1,
        )
        assert json_row.nullable and json_row.type == "string"

    def test_array_items_are_outlined_under_brackets(self):
        paths = [row.path for row in schema_outline(ref("Pbx.User"))]
        assert "Groups" in paths and "Groups[].GroupId" in paths

    def test_depth_limits_the_nesting(self):
        rows = schema_outline(ref("Pbx.User"), depth=1)
        assert rows and all(row.depth == 0 for row in rows)
        assert max(row.depth for row in schema_outline(ref("Pbx.User"), depth=3)) == 2

    def test_a_schema_met_inside_itself_is_not_expanded_again(self):
        # A refresh token's Client (Pbx.OAuthClient) lists its refresh tokens again.
        rows = schema_outline(ref("Pbx.RefreshToken"), depth=8)
        paths = [row.path for row in rows]
        assert "Client.RefreshTokens" in paths
        assert not any(path.startswith("Client.RefreshTokens[].") for path in paths)

    def test_a_schema_without_properties_is_one_row(self):
        (row,) = schema_outline(ref("Pbx.FileSystemType"))
        assert (row.path, row.type, row.enum[0]) == ("", "enum", "Local")

    def test_an_answer_of_one_value_is_outlined(self):
        (row,) = schema_outline(operation_get("GetSftpHostKey").responses["200"])
        assert (row.path, row.type, row.nullable) == ("value", "string", True)
