"""The spec's OpenAPI 3.0 schemas as JSON Schema (to validate with) and as readable rows.

swagger.yaml is OpenAPI 3.0, whose schemas are almost JSON Schema but not quite:

- `nullable: true` is not JSON Schema: a typed schema becomes `type: [type, "null"]` (null
  joins its enum, if any); an untyped one (a `$ref`, an `allOf`) becomes
  `anyOf: [schema, {type: null}]`;
- references point at `#/components/schemas/...`: they are rewritten to `#/$defs/...` and
  every component reached is copied under `$defs`, so each converted schema stands alone;
- `oneOf` becomes `anyOf`: the spec's generator lists overlapping alternatives (a nullable
  number, a nullable string, "INF"/"NaN"), which a null would match twice and so fail.

`json_schema` is the one conversion: request validation here and the simulator's
conformance tests both use it.
"""

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator

from integrations.threecx import spec

DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMPONENT_PREFIX = "#/components/schemas/"
DEFS_PREFIX = "#/$defs/"


@dataclass(frozen=True)
class OutlineRow:
    path: str  # "parameters.Filesystem"; "Groups[].Id" inside an array's items
    type: str  # "string", "integer (int32)", "date-time", "enum", "object", "array of Pbx.Group"
    required: bool
    nullable: bool
    read_only: bool
    enum: tuple[Any, ...]
    description: str
    ref: str | None  # the component schema the value is ("Pbx.FileSystemType"), if any
    depth: int  # 0 for a top-level property


def json_schema(node: dict) -> dict:
    """`node` (an OpenAPI 3.0 schema of the spec) as a standalone JSON Schema 2020-12."""
    converted = _convert(node)
    defs: dict[str, Any] = {}
    pending = set(_refs(converted))
    while pending:
        name = pending.pop()
        if name not in defs:
            defs[name] = _component(name)
            pending |= _component_refs(name) - defs.keys()
    schema = {"$schema": DIALECT, **converted}
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def schema_validator(node: dict) -> Validator:
    """A Draft 2020-12 validator for `node`, built once per schema object (the spec's schema
    objects live as long as the process)."""
    with _validators_lock:
        entry = _validators.get(id(node))
        # The node is kept in the entry, so its id cannot be reused by another object.
        if entry is None or entry[0] is not node:
            entry = (node, Draft202012Validator(json_schema(node)))
            _validators[id(node)] = entry
        return entry[1]


def schema_resolve(node: dict) -> tuple[dict, str | None]:
    """`node` with its `$ref` and `allOf` parts merged into one schema (properties, required,
    type, enum...), and the name of the first component it refers to (or None).

    `nullable` is the node's own: a reference's target is never null by itself.
    """
    merged: dict[str, Any] = {}
    ref_name = _merge(node, merged)
    merged["nullable"] = bool(node.get("nullable"))
    return merged, ref_name


def schema_outline(node: dict, *, depth: int = 3) -> list[OutlineRow]:
    """Readable rows for a schema: one per property, nested properties below their parent
    (down to `depth` levels; a schema met again inside itself is not expanded again).
    A schema without properties (a string, an enum) is one row with an empty path."""
    resolved, ref_name = schema_resolve(node)
    if not resolved.get("properties"):
        return [_row("", node, required=False, level=0)]
    rows: list[OutlineRow] = []
    _outline(resolved, prefix="", level=0, depth=depth, chain=(ref_name,), rows=rows)
    return rows


def type_label(node: dict) -> str:
    """A short, readable type for a schema: "string", "integer (int32)", "date-time", "enum",
    "Pbx.User", "array of Pbx.Group", "number or string"."""
    resolved, ref_name = schema_resolve(node)
    if "enum" in resolved:
        return "enum"
    alternatives = resolved.get("anyOf") or resolved.get("oneOf")
    if alternatives:
        labels = dict.fromkeys(type_label(part) for part in alternatives)
        return " or ".join(labels)
    kind = resolved.get("type")
    if kind == "array":
        return f"array of {type_label(resolved.get('items', {}))}"
    if kind == "object" or resolved.get("properties"):
        return ref_name or "object"
    if kind == "string" and resolved.get("format") in ("date-time", "uuid", "date", "binary"):
        return resolved["format"]
    if kind in ("integer", "number") and resolved.get("format"):
        return f"{kind} ({resolved['format']})"
    return kind or "any"


# --- conversion ----------------------------------------------------------------------------

_validators: dict[int, tuple[dict, Validator]] = {}
_validators_lock = threading.Lock()
# Keywords whose value is a schema, or a list or map of schemas (what conversion descends
# into); every other keyword's value (enum, default, example...) is data, copied as it is.
_SCHEMA_KEYWORDS = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def _convert(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "nullable":
            continue
        if key == "$ref":
            converted[key] = _def_ref(value)
        elif key == "properties":
            converted[key] = {name: _convert(prop) for name, prop in value.items()}
        elif key in _SCHEMA_KEYWORDS:
            converted[key] = _convert(value)
        elif key in _SCHEMA_LISTS:
            # oneOf -> anyOf: see the module's docstring.
            converted["anyOf" if key == "oneOf" else key] = [_convert(part) for part in value]
        else:
            converted[key] = value
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted and None not in converted["enum"]:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def _def_ref(ref: str) -> str:
    if not ref.startswith(COMPONENT_PREFIX):
        raise ValueError(f"Only component schemas can be referred to, not {ref}.")
    return DEFS_PREFIX + ref.removeprefix(COMPONENT_PREFIX)


@cache
def _component(name: str) -> dict:
    return _convert(spec.schema(name))


@cache
def _component_refs(name: str) -> frozenset[str]:
    return frozenset(_refs(_component(name)))


def _refs(node: Any) -> set[str]:
    """The components a converted schema refers to (walked like `_convert` walks)."""
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    if isinstance(node.get("$ref"), str):
        found.add(node["$ref"].removeprefix(DEFS_PREFIX))
    for prop in node.get("properties", {}).values():
        found |= _refs(prop)
    for key in _SCHEMA_KEYWORDS:
        found |= _refs(node.get(key))
    for key in _SCHEMA_LISTS:
        for part in node.get(key, []):
            found |= _refs(part)
    return found


# --- resolution and outline ----------------------------------------------------------------


def _merge(node: dict, merged: dict[str, Any]) -> str | None:
    ref_name = None
    if "$ref" in node:
        ref_name = node["$ref"].rsplit("/", 1)[-1]
        _merge(spec.schema(ref_name), merged)
    for part in node.get("allOf", []):
        part_ref = _merge(part, merged)
        ref_name = ref_name or part_ref
    for key, value in node.items():
        if key == "properties":
            merged["properties"] = {**merged.get("properties", {}), **value}
        elif key == "required":
            merged["required"] = [*merged.get("required", []), *value]
        elif key not in ("$ref", "allOf", "nullable"):
            merged[key] = value
    return ref_name


def _outline(
    resolved: dict,
    *,
    prefix: str,
    level: int,
    depth: int,
    chain: tuple[str | None, ...],
    rows: list[OutlineRow],
) -> None:
    required = set(resolved.get("required", []))
    for name, prop in resolved.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append(_row(path, prop, required=name in required, level=level))
        if level + 1 >= depth:
            continue
        inner, inner_ref = schema_resolve(prop)
        if inner.get("type") == "array":
            inner, inner_ref = schema_resolve(inner.get("items", {}))
            path += "[]"
        if inner.get("properties") and inner_ref not in chain:
            _outline(
                inner,
                prefix=f"{path}.",
                level=level + 1,
                depth=depth,
                chain=(*chain, inner_ref),
                rows=rows,
            )


def _row(path: str, node: dict, *, required: bool, level: int) -> OutlineRow:
    resolved, ref_name = schema_resolve(node)
    if resolved.get("type") == "array":
        _, ref_name = schema_resolve(resolved.get("items", {}))
    return OutlineRow(
        path=path,
        type=type_label(node),
        required=required,
        nullable=resolved["nullable"],
        read_only=bool(resolved.get("readOnly")),
        enum=tuple(resolved.get("enum", ())),
        description=resolved.get("description", ""),
        ref=ref_name,
        depth=level,
    )
