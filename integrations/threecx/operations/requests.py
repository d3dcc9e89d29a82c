"""Checking what a person typed for an operation, and turning it into the request to send.

    prepared = request_prepare(operation, params={"Id": "5"}, body='{"FirstName": "Ada"}')
    prepared.path          # "/Users(5)"
    prepared.url(base)     # "https://pbx.example.com/xapi/v1/Users(5)"

Every problem is collected before anything is refused (`InvalidRequest.errors`), each naming
the field and what it expects. Path values become OData literals inside the template's
parentheses (`Fax(Number='1''0')`, `Users(5)`, `GetLogs(startDate=2024-01-31T09:00:00Z,...)`)
and are percent-encoded, so no value can leave its segment (a "/" becomes %2F). Values are
taken without surrounding spaces. An empty value is "not given"; for a path parameter that
may be null (most report filters) it is sent as `null`.

The body is checked against the operation's schema from the spec. Properties the spec does
not declare are let through, as everywhere this project reads outside data: 3CX updates add
properties before the carried spec knows them.
"""

import json
import re
import uuid
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any
from urllib.parse import quote, urlencode

from jsonschema.exceptions import ValidationError

from integrations.threecx import spec
from integrations.threecx.odata import literal
from integrations.threecx.operations.catalogue import Operation, Parameter, answer_schema_name
from integrations.threecx.operations.schemas import schema_resolve, schema_validator

API = "/xapi/v1"

#: Characters left as they are in a path value: OData's literal syntax. Everything else
#: (/, ?, #, %, +, spaces, non-ASCII) is percent-encoded.
_PATH_SAFE = "'(),=:"
_DATE_TIME = re.compile(
    r"^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9]([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WHOLE_NUMBER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$")
DATE_TIME_HINT = "a date and time in ISO 8601 with its time zone, e.g. 2024-01-31T09:00:00Z"
UUID_HINT = "a UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301"
#: How many known property names an "unknown property" message lists.
_KNOWN_SHOWN = 12


@dataclass(frozen=True)
class FieldError:
    field: str  # "Id", "$top", "body", "body.parameters.Filesystem"
    message: str  # "must be a whole number between -2147483648 and 2147483647"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidRequest(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    def for_field(self, field: str) -> list[str]:
        """The messages about one field ("body" gathers every body.* message)."""
        return [
            error.message
            for error in self.errors
            if error.field == field or (field == "body" and error.field.startswith("body."))
        ]


@dataclass(frozen=True)
class PreparedRequest:
    operation_id: str
    method: str
    path: str  # rendered and percent-encoded, relative to /xapi/v1: "/Users(5)"
    query: dict[str, str]  # {"$top": "10", "$select": "Id,Number"}
    body: Any  # parsed JSON, or None for no body
    is_read: bool

    @property
    def api_path(self) -> str:
        """The path from the server's root, as the transport takes it: "/xapi/v1/Users(5)"."""
        return f"{API}{self.path}"

    def url(self, base_url: str) -> str:
        """The full URL as sent (the query encoded as the transport encodes it)."""
        url = f"{base_url.rstrip('/')}{self.api_path}"
        return f"{url}?{urlencode(self.query)}" if self.query else url


def request_prepare(
    operation: Operation, *, params: dict[str, str], body: str | None
) -> PreparedRequest:
    """Check `params` (text per parameter name, as typed; "" = not given) and `body` (JSON
    text; "" or None = none) against the spec; the request to send, or InvalidRequest with
    every problem found."""
    errors: list[FieldError] = []
    known = {parameter.name: parameter for parameter in operation.parameters}
    for name in params:
        if name not in known:
            errors.append(FieldError(name, _unknown_parameter(operation, name)))
    path = operation.path
    query: dict[str, str] = {}
    for parameter in operation.parameters:
        given = params.get(parameter.name)
        raw = "" if given is None else str(given).strip()
        try:
            value = _parameter_value(operation, parameter, raw)
        except _Invalid as exc:
            errors.extend(FieldError(parameter.name, message) for message in exc.messages)
            continue
        if parameter.location == "path":
            path = path.replace(f"{{{parameter.name}}}", quote(value, safe=_PATH_SAFE))
        elif value is not None:
            query[parameter.name] = value
    parsed_body, body_errors = _body(operation, body)
    errors.extend(body_errors)
    if errors:
        raise InvalidRequest(errors)
    return PreparedRequest(
        operation_id=operation.id,
        method=operation.method,
        path=path,
        query=query,
        body=parsed_body,
        is_read=operation.is_read,
    )


def example_arguments(operation: Operation) -> tuple[dict[str, str], str | None]:
    """Valid parameters (as text) and body (JSON text, None when the operation takes none)
    for `operation`, the same every time: every path parameter, $top, $count and a short
    $select where the operation takes them, and the smallest body the schema accepts."""
    params = {p.name: _example_parameter(p) for p in operation.path_parameters}
    names = {p.name for p in operation.query_parameters}
    if "$top" in names:
        params["$top"] = "10"
    if "$count" in names:
        params["$count"] = "true"
    select = _example_select(operation) if "$select" in names else ""
    if select:
        params["$select"] = select
    if operation.body_schema is None:
        return params, None
    return params, json.dumps(example_value(operation.body_schema), indent=2)


def example_value(node: dict) -> Any:
    """The smallest value a schema accepts: required properties only, an enum's first value,
    0 (or the nearest bound) for numbers, false, empty lists."""
    resolved, _ = schema_resolve(node)
    if resolved.get("enum"):
        return next((value for value in resolved["enum"] if value is not None), None)
    alternatives = resolved.get("anyOf") or resolved.get("oneOf")
    if alternatives:
        return example_value(alternatives[0])
    kind = resolved.get("type")
    if kind == "object" or resolved.get("properties"):
        properties = resolved.get("properties", {})
        return {
            name: example_value(properties.get(name, {})) for name in resolved.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "boolean":
        return bool(resolved.get("default", False))
    if kind in ("integer", "number"):
        return _clamp(0, resolved)
    if kind == "string":
        return _example_text(resolved)
    return None


# --- parameters ----------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, *messages: str) -> None:
        self.messages = messages


def _parameter_value(operation: Operation, parameter: Parameter, raw: str) -> str | None:
    """The value to send (an OData literal for a path parameter), None when not given."""
    if not raw:
        if parameter.location == "path" and parameter.nullable:
            return "null"
        if parameter.required:
            raise _Invalid("required")
        return None
    kind = parameter.kind
    if kind == "integer":
        return literal(_whole_number(raw, parameter.schema))
    if kind == "number":
        if not _NUMBER.match(raw):
            raise _Invalid("must be a number, e.g. 1.5")
        return literal(float(raw))
    if kind in ("boolean", "odata-bool"):
        if raw.lower() not in ("true", "false"):
            raise _Invalid("must be true or false")
        return raw.lower()
    if kind == "date-time":
        if not _DATE_TIME.match(raw):
            raise _Invalid(f"must be {DATE_TIME_HINT}")
        return raw
    if kind == "uuid":
        if not _UUID.match(raw):
            raise _Invalid(f"must be {UUID_HINT}")
        return str(uuid.UUID(raw))
    if kind == "list":
        return ",".join(_list_items(operation, parameter.name, raw))
    max_length = parameter.schema.get("maxLength")
    if max_length is not None and len(raw) > max_length:
        raise _Invalid(f"must be at most {max_length} characters")
    return literal(raw) if parameter.location == "path" else raw


def _whole_number(raw: str, schema: dict) -> int:
    low, high = schema.get("minimum"), schema.get("maximum")
    number = int(raw) if _WHOLE_NUMBER.match(raw) else None
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        raise _Invalid(_whole_number_expected(low, high))
    return number


def _whole_number_expected(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"must be a whole number between {low} and {high}"
    if low is not None:
        return f"must be a whole number of {low} or more"
    if high is not None:
        return f"must be a whole number of {high} or less"
    return "must be a whole number"


def _list_items(operation: Operation, name: str, raw: str) -> list[str]:
    """The items of $select, $expand or $orderby, each checked against the properties of
    what the operation answers when the spec says what that is."""
    items = [item.strip() for item in _split_top_level(raw) if item.strip()]
    schema_name = answer_schema_name(operation)
    if schema_name is None:
        return items
    properties = spec.schema_properties(schema_name)
    messages = []
    for item in items:
        if name == "$orderby":
            words = item.split()
            if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                messages.append(f"'{item}': write a property, then asc or desc")
                continue
            head = words[0]
        else:
            head = item.split("(", 1)[0].strip()
        # "*", type casts and paths into other types ("Pbx.User/Groups") are not checked.
        if head == "*" or "/" in head or "." in head:
            continue
        if head not in properties:
            messages.append(_unknown_property(head, schema_name, sorted(properties, key=str.lower)))
    if messages:
        raise _Invalid(*messages)
    return items


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes: `Groups($select=Id,Name),Phones`."""
    items, current, depth, quoted = [], [], 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def _unknown_property(name: str, schema_name: str, known: list[str]) -> str:
    close = get_close_matches(name, known, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    shown = ", ".join(known[:_KNOWN_SHOWN]) + (", ..." if len(known) > _KNOWN_SHOWN else "")
    return f"unknown property '{name}' of {schema_name} ({hint}known: {shown})"


def _unknown_parameter(operation: Operation, name: str) -> str:
    known = ", ".join(p.name for p in operation.parameters)
    takes = f"it takes {known}" if known else "it takes none"
    return f"not a parameter of {operation.id} ({takes})"


# --- body ----------------------------------------------------------------------------------


def _body(operation: Operation, text: str | None) -> tuple[Any, list[FieldError]]:
    text = (text or "").strip()
    if operation.body_schema is None:
        if text:
            return None, [FieldError("body", f"{operation.id} takes no body: leave it empty")]
        return None, []
    if not text:
        if operation.body_required:
            return None, [
                FieldError("body", "required: a JSON object ({} when nothing is to be set)")
            ]
        return None, []
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        return None, [FieldError("body", message)]
    validator = schema_validator(operation.body_schema)
    found: dict[tuple[str, str], None] = {}
    for error in sorted(validator.iter_errors(parsed), key=lambda e: list(map(str, e.path))):
        for field, message in _schema_error(error):
            found[(field, message)] = None
    return parsed, [FieldError(field, message) for field, message in found]


def _schema_error(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for one validation error, descending into the alternatives of an
    anyOf (how a nullable reference is written) to say what was expected there."""
    field = _field(error.absolute_path)
    if error.validator == "anyOf" and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        alternatives = [part for part in error.validator_value if part != {"type": "null"}]
        nullable = len(alternatives) < len(error.validator_value)
        if len(alternatives) == 1:
            index = error.validator_value.index(alternatives[0])
            found = [item for sub in branches.get(index, []) for item in _schema_error(sub)]
            if nullable:
                found = [(f, m if f != field else f"{m} (or null)") for f, m in found]
            return found or [(field, "is not valid here")]
        expected = " or ".join(_type_words(part) for part in error.validator_value)
        return [(field, f"must be {expected}")]
    return [(field, _message(error))]


def _message(error: ValidationError) -> str:
    kind, value, schema = error.validator, error.validator_value, error.schema
    if kind == "required":
        missing = re.match(r"^'(.*)' is a required property$", error.message)
        name = missing.group(1) if missing else error.message
        return f"required property '{name}' is missing"
    if kind == "enum":
        values = ", ".join(str(item) for item in value if item is not None)
        null = " (or null)" if None in value else ""
        return f"{_show(error.instance)} is not one of {values}{null}"
    if kind == "type" or kind in ("minimum", "maximum"):
        return f"must be {_type_words(schema)}"
    if kind == "pattern":
        if schema.get("format") == "date-time":
            return f"must be {DATE_TIME_HINT}"
        if schema.get("format") == "uuid":
            return f"must be {UUID_HINT}"
        return f"must match the pattern {value}"
    if kind == "maxLength":
        return f"must be at most {value} characters"
    if kind == "minLength":
        return f"must be at least {value} characters"
    if kind == "uniqueItems":
        return "must not hold the same item twice"
    return error.message


_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a list",
    "null": "null",
}


def _type_words(schema: dict) -> str:
    """What a (converted) schema accepts, in words: "a whole number between 0 and 10 or null"."""
    refs = [schema.get("$ref"), *(part.get("$ref") for part in schema.get("allOf", []))]
    ref = next((ref for ref in refs if ref), None)
    if ref:
        return f"a {ref.rsplit('/', 1)[-1]} object"
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    words = []
    for kind in types:
        if kind == "integer":
            words.append(
                _whole_number_expected(schema.get("minimum"), schema.get("maximum")).removeprefix(
                    "must be "
                )
            )
        elif kind == "string" and schema.get("format") in ("date-time", "uuid"):
            words.append(DATE_TIME_HINT if schema["format"] == "date-time" else UUID_HINT)
        else:
            words.append(_TYPE_WORDS.get(kind, kind))
    return " or ".join(words) or "something else"


def _field(path) -> str:
    field = "body"
    for part in path:
        field += f"[{part}]" if isinstance(part, int) else f".{part}"
    return field


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


# --- examples ------------------------------------------------------------------------------


def _example_parameter(parameter: Parameter) -> str:
    kind, name = parameter.kind, parameter.name.lower()
    if kind == "integer":
        return str(_clamp(1, parameter.schema))
    if kind == "number":
        return "1"
    if kind == "boolean":
        return "true" if parameter.schema.get("default") is True else "false"
    if kind == "date-time":
        late = name.startswith("end") or name.endswith("to")
        return "2024-01-31T23:59:59Z" if late else "2024-01-01T00:00:00Z"
    if kind == "uuid":
        return "00000000-0000-0000-0000-000000000001"
    if parameter.nullable:
        return ""  # sent as null: no filter
    if "number" in name or name.startswith("dn"):
        return "100"
    if "mac" in name:
        return "001122334455"
    return _example_text(parameter.schema)


def _example_select(operation: Operation) -> str:
    schema_name = answer_schema_name(operation)
    if schema_name is None:
        return ""
    names = [name for name in spec.safe_select(schema_name) if name != "Id"]
    if "Id" in spec.schema_properties(schema_name):
        names.insert(0, "Id")
    return ",".join(names[:3])


def _example_text(schema: dict) -> str:
    if schema.get("format") == "date-time":
        return "2024-01-01T00:00:00Z"
    if schema.get("format") == "uuid":
        return "00000000-0000-0000-0000-000000000001"
    return "example"[: schema.get("maxLength", 7)]


def _clamp(number: int, schema: dict) -> int:
    if schema.get("minimum") is not None:
        number = max(number, schema["minimum"])
    if schema.get("maximum") is not None:
        number = min(number, schema["maximum"])
    return number
