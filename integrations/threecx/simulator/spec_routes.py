"""Every path of the spec as a compiled route: which operation a request is, with its
arguments read from the OData literals in the path.

Templates such as `/Users({Id})`, `/Fax(Number={Number})` or
`/ActivityLog/Pbx.GetLogs(startDate={startDate},...,severity={severity})` compile to regular
expressions the first time a request needs them (the simulator starts in many tests; most
never leave the modelled routes), grouped by their first segment so a request is tried
against a handful of templates, not 480.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from integrations.threecx.spec import load_spec

METHODS = ("get", "post", "patch", "put", "delete")
# An OData literal in a path: a quoted string ('' escapes a quote) or a bare token (numbers,
# true/false/null, date-times, GUIDs).
_LITERAL = r"'(?:[^']|'')*'|[^,()'/=]*"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_HEAD = re.compile(r"/[^/(]*")
_EDM = {
    ("integer", "int64"): "Edm.Int64",
    ("integer", None): "Edm.Int32",
    ("number", None): "Edm.Double",
    ("boolean", None): "Edm.Boolean",
    ("string", "date-time"): "Edm.DateTimeOffset",
    ("string", "uuid"): "Edm.Guid",
    ("string", None): "Edm.String",
}


class BadRequest(Exception):
    """A request the spec refuses (a path argument that does not parse as its type, a body
    that is not JSON): HTTP 400 with an OData error."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.message = message
        self.target = target


@dataclass(frozen=True)
class Route:
    template: str  # as in the spec: "/Users({Id})/Pbx.GetPhoneSecret()"
    pattern: re.Pattern[str]
    names: tuple[str, ...]  # the path parameters, in the order of the pattern's groups
    operations: dict[str, dict[str, Any]] = field(compare=False)  # "GET" -> the operation

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self.operations)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    method: str
    arguments: dict[str, Any]  # path parameter -> its value (int, str, bool, None...)

    @property
    def operation(self) -> dict[str, Any] | None:
        """The spec's operation object; None when the path exists but not for this method."""
        return self.route.operations.get(self.method)

    @property
    def operation_id(self) -> str:
        return (self.operation or {}).get("operationId", "")


def route_match(method: str, path: str) -> RouteMatch | None:
    """The route `path` (relative to /xapi/v1, URL-decoded) belongs to, preferring one that
    takes `method`; None when no path of the spec matches. BadRequest when the path matches
    but an argument does not parse (an Id that is not an integer...)."""
    head = _HEAD.match(path)
    found: tuple[Route, re.Match[str]] | None = None
    for route in _routes_by_head().get(head.group() if head else "", ()):
        match = route.pattern.fullmatch(path)
        if match is None:
            continue
        if method in route.operations:
            found = (route, match)
            break
        found = found or (route, match)
    if found is None:
        return None
    route, match = found
    operation = route.operations.get(method) or next(iter(route.operations.values()))
    parameters = {
        parameter["name"]: parameter
        for parameter in operation_parameters(operation)
        if parameter.get("in") == "path"
    }
    arguments = {
        name: argument_value(raw, parameters.get(name, {}), name)
        for name, raw in zip(route.names, match.groups(), strict=True)
    }
    return RouteMatch(route=route, method=method, arguments=arguments)


def operation_parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's parameters with `#/components/parameters/...` references resolved."""
    shared = load_spec()["components"].get("parameters", {})
    return [
        shared[parameter["$ref"].rsplit("/", 1)[-1]] if "$ref" in parameter else parameter
        for parameter in operation.get("parameters", [])
    ]


def argument_value(raw: str, parameter: dict[str, Any], name: str) -> Any:
    """The value of the OData literal `raw` for `parameter`; BadRequest if it is not one."""
    schema = parameter.get("schema", {})
    kind, text_format = schema.get("type", "string"), schema.get("format")
    if raw == "null" and schema.get("nullable"):
        return None
    quoted = re.fullmatch(r"'((?:[^']|'')*)'", raw)
    text = quoted.group(1).replace("''", "'") if quoted else None
    value: Any = None
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        value = int(raw)
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        value = value if low <= value <= high else None
    elif kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", raw):
        value = float(raw)
    elif kind == "boolean" and raw in ("true", "false"):
        value = raw == "true"
    elif text_format in ("date-time", "uuid"):
        # OData writes these bare; a quoted one is taken too (the simulator is lenient).
        candidate = text if text is not None else raw
        value = candidate if _is_format(candidate, text_format, schema) else None
    elif kind == "string" and text is not None:
        limit = schema.get("maxLength")
        value = text if limit is None or len(text) <= limit else None
    if value is None:
        raise BadRequest(_refusal(raw, parameter, name, schema), name)
    return value


# --- building the routes ------------------------------------------------------------------------


@cache
def _routes_by_head() -> dict[str, tuple[Route, ...]]:
    """Routes grouped by their first segment ("/Users"), the most specific first."""
    groups: dict[str, list[Route]] = {}
    for template, item in load_spec()["paths"].items():
        operations = {
            verb.upper(): operation
            for verb, operation in item.items()
            if verb in METHODS and isinstance(operation, dict)
        }
        if not operations:
            continue
        pattern, names = _compile(template)
        route = Route(template=template, pattern=pattern, names=names, operations=operations)
        head = _HEAD.match(template)
        groups.setdefault(head.group() if head else "", []).append(route)
    return {
        head: tuple(sorted(routes, key=lambda route: -len(_PLACEHOLDER.sub("", route.template))))
        for head, routes in groups.items()
    }


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(_PLACEHOLDER.findall(template))
    pattern, position = "", 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        pattern += re.escape(literal)
        # A lone key may also be written Id=5 (OData's named-key form).
        named = literal.endswith("(") and template[match.end() : match.end() + 1] == ")"
        prefix = f"(?:{re.escape(match.group(1))}=)?" if named else ""
        pattern += f"{prefix}({_LITERAL})"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern), names


def _is_format(text: str, text_format: str, schema: dict[str, Any]) -> bool:
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, text):
        return False
    if text_format == "date-time":
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return False
    return True


def _refusal(raw: str, parameter: dict[str, Any], name: str, schema: dict[str, Any]) -> str:
    kind, text_format = schema.get("type", "string"), schema.get("format")
    edm = _EDM.get((kind, text_format)) or _EDM.get((kind, None), "Edm.String")
    limit = schema.get("maxLength")
    if limit is not None and edm == "Edm.String" and raw.startswith("'"):
        return f"The value of '{name}' is longer than {limit} characters."
    is_key = "x-ms-docs-key-type" in parameter or parameter.get("description", "").startswith(
        "Alternate key"
    )
    if is_key:
        return f"The key value '{raw}' is not a valid {edm} key."
    return f"The value '{raw}' of the parameter '{name}' is not a valid {edm} literal."
