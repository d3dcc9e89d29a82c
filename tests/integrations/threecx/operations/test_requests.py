"""Checking what a person typed for an operation, and rendering the request to send."""

import dataclasses
import json

import pytest

from integrations.threecx.operations.catalogue import answer_schema_name, operation_get, operations
from integrations.threecx.operations.requests import (
    FieldError,
    InvalidRequest,
    PreparedRequest,
    example_arguments,
    request_prepare,
)


def prepare(operation_id: str, body: str | None = None, **params: str) -> PreparedRequest:
    return request_prepare(operation_get(operation_id), params=params, body=body)


def refusal(operation_id: str, body: str | None = None, **params: str) -> list[str]:
    with pytest.raises(InvalidRequest) as caught:
        prepare(operation_id, body, **params)
    return [str(error) for error in caught.value.errors]


class TestExamples:
    @pytest.mark.parametrize("operation_id", list(operations()))
    def test_the_example_of_every_operation_is_accepted(self, operation_id):
        operation = operation_get(operation_id)
        params, body = example_arguments(operation)
        prepared = request_prepare(operation, params=params, body=body)
        assert "{" not in prepared.path
        assert (body is None) is (operation.body_schema is None)

    def test_examples_are_the_same_every_time(self):
        for operation in operations().values():
            assert example_arguments(operation) == example_arguments(operation)

    def test_an_example_body_holds_only_what_is_required(self):
        params, body = example_arguments(operation_get("GetDirectoryInfo"))
        assert params == {}
        assert json.loads(body) == {"parameters": {}}
        assert json.loads(example_arguments(operation_get("UpdateUser"))[1]) == {}
        assert json.loads(example_arguments(operation_get("SetMonitorStatus"))[1]) == {"days": 0}

    def test_an_example_fills_every_path_parameter_and_a_few_options(self):
        params, body = example_arguments(operation_get("GetLogs"))
        assert body is None
        assert params["startDate"] == "2024-01-01T00:00:00Z"
        assert params["endDate"] == "2024-01-31T23:59:59Z"
        assert params["extension"] == ""  # may be null: sent as null
        assert params["$top"] == "10" and params["$count"] == "true"
        assert set(params["$select"].split(",")) <= {"Index", "Message", "TimeStamp", "Id"}

    def test_an_example_never_selects_a_secret(self):
        select = example_arguments(operation_get("ListUser"))[0]["$select"].split(",")
        assert select[0] == "Id"
        assert not {"AuthPassword", "VMPIN", "AccessPassword"} & set(select)


class TestPaths:
    def test_an_integer_key_is_rendered_bare(self):
        prepared = prepare("GetUser", Id="5")
        assert (prepared.method, prepared.path, prepared.query) == ("GET", "/Users(5)", {})
        assert prepared.is_read and prepared.body is None

    def test_a_text_key_is_quoted_with_inner_quotes_doubled(self):
        assert prepare("GetFaxByNumber", Number="O'Brien").path == "/Fax(Number='O''Brien')"

    @pytest.mark.parametrize("value", ["../../Users", "a/b", "..", "x?$top=1#y", "100%"])
    def test_a_value_cannot_leave_its_segment(self, value):
        path = prepare("DeleteBackups", FileName=value).path
        assert path.startswith("/Backups('") and path.endswith("')")
        assert path.count("/") == 1 and "?" not in path and "#" not in path

    def test_a_date_time_is_unquoted_and_its_plus_encoded(self):
        path = prepare(
            "GetLogs",
            startDate="2024-01-01T00:00:00+02:00",
            endDate="2024-01-02T00:00:00Z",
            extension="101",
        ).path
        assert path == (
            "/ActivityLog/Pbx.GetLogs(startDate=2024-01-01T00:00:00%2B02:00,"
            "endDate=2024-01-02T00:00:00Z,extension='101',call=null,severity=null)"
        )

    def test_a_uuid_and_a_boolean_are_bare(self):
        operation = next(
            op for op in operations().values() if any(p.kind == "uuid" for p in op.path_parameters)
        )
        name = next(p.name for p in operation.path_parameters if p.kind == "uuid")
        prepared = request_prepare(
            operation,
            params={
                **example_arguments(operation)[0],
                name: "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
            },
            body=example_arguments(operation)[1],
        )
        assert f"{name}=3f2504e0-4f89-11d3-9a0c-0305e82c3301" in prepared.path or (
            "(3f2504e0-4f89-11d3-9a0c-0305e82c3301)" in prepared.path
        )
        boolean = next(
            op
            for op in operations().values()
            if any(p.kind == "boolean" for p in op.path_parameters)
        )
        flag = next(p.name for p in boolean.path_parameters if p.kind == "boolean")
        params = {**example_arguments(boolean)[0], flag: "TRUE"}
        assert f"{flag}=true" in request_prepare(boolean, params=params, body=None).path

    def test_the_url_is_the_one_sent(self):
        prepared = prepare("ListUser", **{"$top": "5", "$filter": "Number eq '100'"})
        assert prepared.url("https://pbx.example.com:5001/") == (
            "https://pbx.example.com:5001/xapi/v1/Users?%24top=5&%24filter=Number+eq+%27100%27"
        )
        assert prepare("GetUser", Id="5").url("https://pbx.example.com") == (
            "https://pbx.example.com/xapi/v1/Users(5)"
        )


class TestParameters:
    def test_values_are_taken_without_surrounding_spaces(self):
        prepared = prepare(
            "ListUser", **{"$top": " 10 ", "$select": " Id , Number ", "$count": "True"}
        )
        assert prepared.query == {"$top": "10", "$select": "Id,Number", "$count": "true"}

    def test_empty_options_are_left_out(self):
        assert prepare("ListUser", **{"$top": "", "$filter": "  "}).query == {}

    @pytest.mark.parametrize("value", ["x", "1.5", "2147483648", "-2147483649", "1e3"])
    def test_an_id_must_be_an_int32(self, value):
        assert refusal("GetUser", Id=value) == [
            "Id: must be a whole number between -2147483648 and 2147483647"
        ]

    def test_a_missing_path_parameter_is_required(self):
        assert refusal("GetUser") == ["Id: required"]
        errors = refusal("GetLogs", endDate="2024-01-02T00:00:00Z")
        assert errors == ["startDate: required"]

    def test_top_and_skip_must_not_be_negative(self):
        assert refusal("ListUser", **{"$top": "-1", "$skip": "many"}) == [
            "$top: must be a whole number of 0 or more",
            "$skip: must be a whole number of 0 or more",
        ]

    def test_count_must_be_true_or_false(self):
        assert refusal("ListUser", **{"$count": "yes"}) == ["$count: must be true or false"]

    @pytest.mark.parametrize("value", ["2024-01-31", "31/01/2024 09:00", "2024-01-31T09:00:00"])
    def test_a_date_time_needs_its_time_zone(self, value):
        (error,) = refusal("GetLogs", startDate=value, endDate="2024-01-31T09:00:00Z")
        assert error.startswith("startDate: must be a date and time in ISO 8601")

    def test_a_uuid_must_look_like_one(self):
        operation = next(
            op for op in operations().values() if any(p.kind == "uuid" for p in op.path_parameters)
        )
        name = next(p.name for p in operation.path_parameters if p.kind == "uuid")
        params, body = example_arguments(operation)
        with pytest.raises(InvalidRequest, match=f"{name}: must be a UUID"):
            request_prepare(operation, params={**params, name: "not-a-uuid"}, body=body)

    def test_a_text_longer_than_the_spec_allows_is_refused(self):
        operation = next(
            op
            for op in operations().values()
            if any(p.schema.get("maxLength") for p in op.path_parameters)
        )
        parameter = next(p for p in operation.path_parameters if p.schema.get("maxLength"))
        params, body = example_arguments(operation)
        with pytest.raises(InvalidRequest) as caught:
            request_prepare(operation, params={**params, parameter.name: "x" * 13}, body=body)
        assert caught.value.errors == [
            FieldError(
                parameter.name, f"must be at most {parameter.schema['maxLength']} characters"
            )
        ]

    def test_a_parameter_outside_the_spec_is_refused(self):
        (error,) = refusal("GetUser", Id="5", **{"$top": "1"})
        assert error == "$top: not a parameter of GetUser (it takes Id, $select, $expand)"
        assert refusal("DeleteUser", Id="5", **{"If-Match": "*"}) == [
            "If-Match: not a parameter of DeleteUser (it takes Id)"
        ]


class TestQueryOptions:
    def test_select_names_properties_of_what_is_answered(self):
        (error,) = refusal("ListUser", **{"$select": "Id,Foo"})
        assert error.startswith("$select: unknown property 'Foo' of Pbx.User (known: ")
        assert "AccessPassword" in error and error.endswith(", ...)")

    def test_a_near_miss_is_pointed_out(self):
        (error,) = refusal("ListUser", **{"$select": "Nmber"})
        assert "did you mean Number?" in error

    def test_select_is_accepted_as_typed_when_the_answer_is_not_described(self):
        # Every operation of the carried spec that takes $select describes its answer.
        described = operation_get("GetSystemStatus")
        operation = dataclasses.replace(described, responses={"200": {"type": "object"}})
        assert answer_schema_name(operation) is None
        prepared = request_prepare(operation, params={"$select": "Anything,Else"}, body=None)
        assert prepared.query["$select"] == "Anything,Else"
        with pytest.raises(InvalidRequest, match="unknown property 'Anything' of Pbx.SystemStatus"):
            request_prepare(described, params={"$select": "Anything"}, body=None)

    def test_expand_options_may_hold_commas(self):
        prepared = prepare("ListUser", **{"$expand": "Groups($select=Id,Name),Phones"})
        assert prepared.query["$expand"] == "Groups($select=Id,Name),Phones"
        (error,) = refusal("ListUser", **{"$expand": "Groups,Nope($select=Id)"})
        assert error.startswith("$expand: unknown property 'Nope' of Pbx.User")

    def test_orderby_takes_a_property_and_a_direction(self):
        assert prepare("ListUser", **{"$orderby": "Number desc, Id"}).query == {
            "$orderby": "Number desc,Id"
        }
        assert refusal("ListUser", **{"$orderby": "Number upwards"}) == [
            "$orderby: 'Number upwards': write a property, then asc or desc"
        ]

    def test_stars_and_type_casts_are_not_checked(self):
        prepared = prepare("ListUser", **{"$select": "*", "$expand": "*"})
        assert prepared.query == {"$select": "*", "$expand": "*"}


class TestBodies:
    def test_a_valid_body_is_parsed(self):
        prepared = prepare(
            "GetDirectoryInfo", '{"parameters": {"Filesystem": "Local", "Path": null}}'
        )
        assert prepared.body == {"parameters": {"Filesystem": "Local", "Path": None}}
        assert prepared.is_read and prepared.method == "POST"

    def test_invalid_json_says_where(self):
        body = '{"parameters": {\n  "Filesystem": "Local"\n    "Path": "/"}}'
        assert refusal("GetDirectoryInfo", body) == [
            "body: invalid JSON at line 3, column 5: Expecting ',' delimiter"
        ]

    def test_an_enum_lists_its_values(self):
        (error,) = refusal("GetDirectoryInfo", '{"parameters": {"Filesystem": "X"}}')
        assert error.startswith(
            "body.parameters.Filesystem: 'X' is not one of Local, Ftp, GoogleDrive, "
        )

    def test_a_missing_required_property_is_named(self):
        assert refusal("GetDirectoryInfo", "{}") == [
            "body: required property 'parameters' is missing"
        ]

    def test_types_bounds_and_list_positions_are_named(self):
        body = json.dumps(
            {"FirstName": 5, "Groups": [{"GroupId": "x"}], "VMPlayMsgDateTime": "Never"}
        )
        errors = refusal("UpdateUser", body, Id="5")
        assert errors == [
            "body.FirstName: must be text or null",
            "body.Groups[0].GroupId: must be a whole number between -2147483648 and "
            "2147483647 or null",
            "body.VMPlayMsgDateTime: 'Never' is not one of None, Play12Hr, Play24Hr (or null)",
        ]

    def test_properties_the_spec_does_not_know_are_let_through(self):
        assert prepare("UpdateUser", '{"FirstName": "Ada", "Future": 1}', Id="5").body == {
            "FirstName": "Ada",
            "Future": 1,
        }

    def test_a_body_is_refused_where_the_operation_takes_none(self):
        assert refusal("ListUser", "{}") == ["body: ListUser takes no body: leave it empty"]

    def test_a_required_body_must_be_given(self):
        assert refusal("UpdateUser", "  ", Id="5") == [
            "body: required: a JSON object ({} when nothing is to be set)"
        ]

    def test_an_optional_body_may_be_left_out(self):
        operation = next(
            op for op in operations().values() if op.body_schema and not op.body_required
        )
        params, _ = example_arguments(operation)
        assert request_prepare(operation, params=params, body="").body is None


class TestAllErrorsAtOnce:
    def test_every_problem_is_reported_together(self):
        with pytest.raises(InvalidRequest) as caught:
            prepare(
                "UpdateUser",
                '{"FirstName": 5}',
                Id="five",
                **{"$top": "1"},
            )
        fields = [error.field for error in caught.value.errors]
        assert fields == ["$top", "Id", "body.FirstName"]
        assert str(caught.value) == "; ".join(str(error) for error in caught.value.errors)
        assert caught.value.for_field("body") == ["must be text or null"]
