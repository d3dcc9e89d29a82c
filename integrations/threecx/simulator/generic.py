"""Answers for the operations the simulator does not model, made from the spec alone.

`generic_answer` takes a request already matched to its operation (`spec_routes`) and answers
what the spec says it answers: nothing (204) for the operations that answer nothing, otherwise
a deterministic instance of the success schema (`schema_answers`), seeded by the operation id
and the rendered path. Collections honour the OData options through the same code as the
modelled sets (`query`); writes answer as the spec says and change nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.threecx.spec import load_spec, schema_properties

from .model import TypeInfo, type_info
from .query import SINGLE_OPTIONS, QueryOptions, parse_options, select_items, shape
from .schema_answers import SchemaAnswers, merged_properties, named_type
from .spec_routes import BadRequest, RouteMatch, operation_parameters

#: What a collection answer's schema holds besides its rows.
_COLLECTION_PROPERTIES = {"@odata.count", "@odata.nextLink", "value"}
_PAGING_OPTIONS = ("$top", "$skip", "$count")
_PRIMITIVE = TypeInfo(name="Edm.PrimitiveType", props={})
_EDM = {"string": "Edm.String", "integer": "Edm.Int32", "boolean": "Edm.Boolean"}


@dataclass(frozen=True)
class Paging:
    """How the server pages collections now: a cap on rows, and what @odata.count says."""

    cap: int | None = None
    counted: Callable[[int], Any] = lambda count: count


def generic_answer(
    found: RouteMatch,
    *,
    path: str,
    options: dict[str, str],
    body: bytes,
    base_url: str,
    paging: Paging,
) -> tuple[int, Any]:
    """(status, JSON body or None) for `found`'s operation. BadRequest for a body that is not
    JSON or an option the operation does not take; QueryError for an option that does not
    parse."""
    operation = found.operation or {}
    _check_options(operation, options)
    _check_body(operation, body, found.operation_id)
    status, schema = success_response(operation)
    if schema is None:
        return status, None
    seed = f"{found.operation_id} {path}"
    answer = _Answer(found.operation_id, SchemaAnswers(seed), _Navigator(seed), paging)
    context = f"{base_url}/xapi/v1/$metadata#"
    items = collection_items(schema)
    if items is not None:
        return status, answer.collection(items, options, context, path)
    return status, answer.single(schema, options, context, path, status)


def success_response(operation: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The operation's success status and the schema of its JSON answer (None: no body)."""
    responses = operation.get("responses", {})
    for status in ("200", "201", "204"):
        if status not in responses:
            continue
        response = responses[status]
        if "$ref" in response:
            response = load_spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        return int(status), schema
    return 204, None


def collection_items(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The item schema when `schema` is a collection answer ({"value": [...]}), else None."""
    properties = merged_properties(schema)
    value = properties.get("value", {})
    if value.get("type") != "array" or set(properties) - _COLLECTION_PROPERTIES:
        return None
    return value.get("items", {})


class _Answer:
    def __init__(
        self, operation_id: str, answers: SchemaAnswers, navigator: _Navigator, paging: Paging
    ) -> None:
        self.operation_id = operation_id
        self.answers = answers
        self.navigator = navigator
        self.paging = paging

    def collection(
        self, items: dict[str, Any], options: dict[str, str], context: str, path: str
    ) -> dict[str, Any]:
        type_name = named_type(items)
        count = self.answers.random.randint(1, 3)
        if type_name is None:
            # Rows without properties: only paging applies.
            query = parse_options(
                {name: options[name] for name in _PAGING_OPTIONS if name in options},
                _PRIMITIVE,
                self.navigator,
            )
            rows = [self.answers.instance(items) for _ in range(count)]
            info = None
        else:
            info = type_info(type_name)
            query = parse_options(options, info, self.navigator)
            rows = [self.answers.named_object(type_name) for _ in range(count)]
        self._cap(query)
        matched, page = select_items(rows, query, info or _PRIMITIVE)
        is_set = re.fullmatch(r"/(\w+)", path)
        what = is_set.group(1) if is_set else f"Collection({type_name or _edm(items)})"
        body: dict[str, Any] = {"@odata.context": f"{context}{what}{query.context_suffix()}"}
        if query.count:
            counted = self.paging.counted(matched)
            if counted is not None:
                body["@odata.count"] = counted
        if info is None:
            body["value"] = page
        else:
            body["value"] = [shape(row, info, query, self.navigator) for row in page]
        return body

    def single(
        self, schema: dict[str, Any], options: dict[str, str], context: str, path: str, status: int
    ) -> Any:
        type_name = named_type(schema)
        if type_name is None:
            value = merged_properties(schema).get("value")
            if value is not None:
                # {"value": ...}: a function returning one plain value, named by the function
                # (so that GetPhoneSecret answers something secret-looking).
                data = {"value": self.answers.instance(value, self.operation_id)}
                return {"@odata.context": f"{context}{_edm(value)}", **data}
            data = self.answers.instance(schema)
            if not isinstance(data, dict):
                return data  # the spec answers a bare value here (an enum member)
            return {"@odata.context": f"{context}Edm.Untyped", **data}
        info = type_info(type_name)
        single_options = {name: options[name] for name in SINGLE_OPTIONS if name in options}
        query = parse_options(single_options, info, self.navigator, collection=False)
        row = self.answers.named_object(type_name)
        entity = re.fullmatch(r"/(\w+)(?:\([^/]*\))?", path)
        if entity and (status == 201 or "(" in path):
            what = f"{entity.group(1)}{query.context_suffix()}/$entity"
        else:
            what = f"{type_name}{query.context_suffix()}"
        return {"@odata.context": f"{context}{what}", **shape(row, info, query, self.navigator)}

    def _cap(self, query: QueryOptions) -> None:
        cap = self.paging.cap
        if cap is not None:
            query.top = cap if query.top is None else min(query.top, cap)


class _Navigator:
    """Navigation properties of generated rows, made when $expand (or $filter) asks for
    them: the same row gets the same related rows every time."""

    def __init__(self, seed: str) -> None:
        self.seed = seed

    def __call__(self, type_name: str, item: dict[str, Any], navigation: str) -> Any:
        definition = schema_properties(type_name)[navigation]
        key = json.dumps(item.get("Id", item.get("Number")))
        answers = SchemaAnswers(f"{self.seed} {type_name}/{navigation} {key}")
        return answers.instance(definition, navigation, depth=1)


def _check_options(operation: dict[str, Any], options: dict[str, str]) -> None:
    declared = {
        parameter["name"]
        for parameter in operation_parameters(operation)
        if parameter.get("in") == "query"
    }
    for name in options:
        if name not in declared:
            raise BadRequest(
                f"The query parameter '{name}' is not supported by '{operation['operationId']}'.",
                name,
            )


def _check_body(operation: dict[str, Any], body: bytes, operation_id: str) -> None:
    """Refuse a body that is missing (when required), not JSON, or holds names the type or
    action does not declare, as ASP.NET Core OData does before any 3CX code runs."""
    request_body = operation.get("requestBody")
    if request_body is None:
        return
    if "$ref" in request_body:
        shared = load_spec()["components"]["requestBodies"]
        request_body = shared[request_body["$ref"].rsplit("/", 1)[-1]]
    schema = request_body.get("content", {}).get("application/json", {}).get("schema", {})
    if not body.strip():
        if request_body.get("required"):
            raise BadRequest("A non-empty request body is required.", "body")
        return
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The request body is not valid JSON.", "body") from None
    properties = merged_properties(schema)
    if not properties:
        return
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.", "body")
    type_name = named_type(schema)
    for name in payload:
        if name in properties or name.startswith("@"):
            continue
        if type_name:
            raise BadRequest(
                f"The property '{name}' does not exist on type '{type_name}'. Make sure to "
                "only use property names that are defined by the type.",
                name,
            )
        raise BadRequest(
            f"The parameter '{name}' in the request payload is not a valid parameter for the "
            f"operation '{operation_id}'.",
            name,
        )


def _edm(schema: dict[str, Any]) -> str:
    if schema.get("type") == "array":
        return f"Collection({_edm(schema.get('items', {}))})"
    return named_type(schema) or _EDM.get(schema.get("type", ""), "Edm.String")
