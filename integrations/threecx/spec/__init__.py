"""The official 3CX XAPI OpenAPI description (V20 Update 10), carried as data.

`swagger.yaml` is an unmodified copy; SOURCE.txt says where it comes from. It is the contract
for the client and the simulator: request validation, secret-field detection and the
simulator's conformance tests all read it from here.
"""

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("swagger.yaml")

# A property is a secret when its name says so and it holds text (or a ConcealedPassword).
# Names such as PinProtected (bool) or PinProtectTimeout (int) are settings, not secrets.
_SECRET_NAME = re.compile(r"(password|pin|secret|apikey|token)$", re.IGNORECASE)
_CONCEALED = "#/components/schemas/Pbx.ConcealedPassword"


@cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as stream:
        return yaml.load(stream, Loader=_SpecLoader)  # noqa: S506 - a safe loader


class _SpecLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe loader that reads only true/false as booleans (YAML 1.2), not YAML 1.1's
    yes/no/on/off: the spec's enum member "No" (Pbx.AuthenticationType) must stay a string."""


_BOOL = "tag:yaml.org,2002:bool"
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def schema(name: str) -> dict[str, Any]:
    """A component schema by name, e.g. "Pbx.User" (references not resolved)."""
    return load_spec()["components"]["schemas"][name]


@cache
def schema_properties(name: str) -> dict[str, dict[str, Any]]:
    """All properties of a component schema, following allOf and $ref."""
    return _properties(schema(name))


def _properties(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if "$ref" in node:
        found.update(schema_properties(node["$ref"].rsplit("/", 1)[-1]))
    for part in node.get("allOf", []):
        found.update(_properties(part))
    found.update(node.get("properties", {}))
    return found


@cache
def secret_fields(name: str) -> frozenset[str]:
    """Properties of a schema that hold passwords, PINs or keys: never request or store them."""
    return frozenset(
        field
        for field, definition in schema_properties(name).items()
        if is_secret_property(field, definition)
    )


def is_secret_property(name: str, definition: dict[str, Any]) -> bool:
    """The rule for one property: a ConcealedPassword, or text named like a secret."""
    refs = {definition.get("$ref")} | {p.get("$ref") for p in definition.get("allOf", [])}
    return _CONCEALED in refs or bool(
        _SECRET_NAME.search(name) and definition.get("type") == "string"
    )


@cache
def entity_set_secret_fields(entity_set: str) -> frozenset[str]:
    """The secret properties of a top-level collection's items ("Users" -> AuthPassword,
    VMPIN...): none for what the spec describes no collection of (SystemStatus)."""
    schema_name = entity_schema_name(entity_set)
    return secret_fields(schema_name) if schema_name else frozenset()


def enum_values(name: str) -> list[str]:
    return list(schema(name)["enum"])


@cache
def entity_schema_name(entity_set: str) -> str | None:
    """The schema of the items of a top-level collection, e.g. "Users" -> "Pbx.User"."""
    operation = load_spec()["paths"].get(f"/{entity_set}", {}).get("get")
    if not operation:
        return None
    ref = operation["responses"]["200"].get("$ref", "")
    response = load_spec()["components"]["responses"].get(ref.rsplit("/", 1)[-1], {})
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = schema(body["$ref"].rsplit("/", 1)[-1])
    items = body.get("properties", {}).get("value", {}).get("items", {})
    if "$ref" in items:
        return items["$ref"].rsplit("/", 1)[-1]
    # Collection responses nest the value list under allOf in the generated spec.
    for part in body.get("allOf", []):
        part_items = part.get("properties", {}).get("value", {}).get("items", {})
        if "$ref" in part_items:
            return part_items["$ref"].rsplit("/", 1)[-1]
    return None


@cache
def safe_select(schema_name: str) -> tuple[str, ...]:
    """Every plain property of a schema except secrets and navigation properties."""
    secrets = secret_fields(schema_name)
    return tuple(
        name
        for name, definition in schema_properties(schema_name).items()
        if name not in secrets and not definition.get("x-ms-navigationProperty")
    )
