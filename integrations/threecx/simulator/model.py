"""The entity model the simulator serves, read from the official OpenAPI description.

Property names, their types, which properties are navigation properties (they only appear
with $expand) and which ones hold secrets all come from the spec, so the simulator cannot
drift from the contract the client is written against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from integrations.threecx.spec import load_spec, schema_properties, secret_fields

_SCHEMA_REF = "#/components/schemas/"


@dataclass(frozen=True)
class PropType:
    """The type of a property: kind is string, datetime, int, float, bool, enum, complex or
    collection; name is the Pbx type for enum and complex; element for collections."""

    kind: str
    name: str | None = None
    element: PropType | None = None
    nullable: bool = True
    edm: str = ""

    @property
    def label(self) -> str:
        """The type as OData error messages spell it (Edm.String, Pbx.QueueStatusType...)."""
        if self.kind == "collection" and self.element is not None:
            return f"Collection({self.element.label})"
        return self.name if self.kind in ("enum", "complex") else self.edm


@dataclass(frozen=True)
class Prop:
    name: str
    type: PropType
    navigation: bool
    secret: bool


@dataclass
class TypeInfo:
    """One structured type (entity or complex) of the Pbx namespace."""

    name: str
    props: dict[str, Prop]
    structural: list[str] = field(default_factory=list)
    navigation: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    search_fields: tuple[str, ...] = ()

    def prop(self, name: str) -> Prop | None:
        return self.props.get(name)


@cache
def type_info(name: str) -> TypeInfo:
    """The structured type `name` ("Pbx.User"), with every inherited property."""
    props: dict[str, Prop] = {}
    secrets = secret_fields(name)
    for prop_name, definition in schema_properties(name).items():
        props[prop_name] = Prop(
            name=prop_name,
            type=_prop_type(definition),
            navigation=bool(definition.get("x-ms-navigationProperty")),
            secret=prop_name in secrets,
        )
    info = TypeInfo(name=name, props=props)
    info.structural = [p for p, prop in props.items() if not prop.navigation]
    info.navigation = [p for p, prop in props.items() if prop.navigation]
    info.defaults = {p: default_value(props[p].type) for p in info.structural}
    info.search_fields = tuple(
        p
        for p in info.structural
        if props[p].type.kind == "string" and not props[p].secret and p != "Id"
    )
    return info


def enum_members(name: str) -> list[str]:
    return list(load_spec()["components"]["schemas"][name]["enum"])


def is_enum(name: str) -> bool:
    return "enum" in load_spec()["components"]["schemas"][name]


def default_value(prop_type: PropType, depth: int = 0) -> Any:
    """What a freshly created object holds for a property nobody set.

    Mirrors what 3CX answers for untouched settings: false, 0, "" and empty lists, the first
    member of an enum, and null for optional sub-objects and timestamps.
    """
    kind = prop_type.kind
    if kind == "collection":
        return []
    if kind == "enum":
        return enum_members(prop_type.name or "")[0]
    if kind == "complex":
        if prop_type.nullable or depth > 2:
            return None
        return complete(prop_type.name or "", {}, depth + 1)
    if kind == "datetime":
        return None
    return {"bool": False, "int": 0, "float": 0.0, "string": ""}[kind]


def complete(type_name: str, values: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """A full object of `type_name`: every structural property, `values` winning."""
    info = type_info(type_name)
    result = {}
    for name in info.structural:
        if name in values:
            result[name] = values[name]
        else:
            result[name] = default_value(info.props[name].type, depth)
    for name in info.navigation:
        if name in values:
            result[name] = values[name]
    return result


def _prop_type(definition: dict[str, Any]) -> PropType:
    nullable = bool(definition.get("nullable", False))
    if "$ref" in definition:
        return _ref_type(definition["$ref"], nullable)
    if "allOf" in definition:
        refs = [part["$ref"] for part in definition["allOf"] if "$ref" in part]
        return _ref_type(refs[0], nullable)
    if "oneOf" in definition:
        return PropType("float", nullable=True, edm="Edm.Double")
    kind = definition.get("type")
    if kind == "array":
        return PropType("collection", element=_prop_type(definition["items"]), nullable=False)
    if kind == "boolean":
        return PropType("bool", nullable=nullable, edm="Edm.Boolean")
    if kind == "integer":
        edm = "Edm.Int64" if definition.get("format") == "int64" else "Edm.Int32"
        return PropType("int", nullable=nullable, edm=edm)
    if kind == "number":
        return PropType("float", nullable=nullable, edm="Edm.Double")
    if definition.get("format") == "date-time":
        return PropType("datetime", nullable=nullable, edm="Edm.DateTimeOffset")
    return PropType("string", nullable=nullable, edm="Edm.String")


def _ref_type(ref: str, nullable: bool) -> PropType:
    name = ref.removeprefix(_SCHEMA_REF)
    if is_enum(name):
        return PropType("enum", name=name, nullable=nullable, edm=name)
    return PropType("complex", name=name, nullable=nullable, edm=name)


def complete_deep(type_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """`complete`, down through the sub-objects `values` holds (a PATCH that sends a
    destination as {"To": "External", "External": "+44..."} gets the rest filled in)."""
    result = complete(type_name, values)
    props = type_info(type_name).props
    for name, value in result.items():
        prop_type = props[name].type
        if prop_type.kind == "complex" and isinstance(value, dict):
            result[name] = complete_deep(prop_type.name or "", value)
        elif prop_type.kind == "collection" and isinstance(value, list):
            element = prop_type.element
            if element is not None and element.kind == "complex":
                result[name] = [
                    complete_deep(element.name or "", entry) if isinstance(entry, dict) else entry
                    for entry in value
                ]
    return result
