"""Deterministic, spec-valid instances of the spec's schemas: what the simulator answers for the
operations it does not model.

`SchemaAnswers(seed)` draws every value from one `random.Random(seed)`, so the same seed (the
operation id and the rendered path) gives the same answer, byte for byte, in every process.
Values respect type, format, enum, minimum/maximum, maxLength, nullable, $ref, allOf, oneOf
and arrays; every declared property is filled in, secrets included (with obviously fake
values, so that masking downstream is exercised on real data). Navigation properties are left
out, as an OData server leaves them out without $expand; `navigation_value` makes them on
demand. Answers stay small: arrays hold 1 to 3 items and objects nest at most `MAX_DEPTH` deep.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.threecx.spec import load_spec, schema_properties

#: Objects deeper than this are cut short: null where the spec allows it, empty lists, and
#: only plain values below that (some Pbx types refer to themselves).
MAX_DEPTH = 4
_REF = "#/components/schemas/"
_EPOCH = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
# Text properties holding passwords, PINs, keys and tokens (see spec.secret_fields).
_SECRET = re.compile(r"(password|pin|secret|apikey|accesskey|secretkey|token)$", re.IGNORECASE)
_LICENCE_KEY = re.compile(r"licen[cs]ekey$", re.IGNORECASE)
_CONCEALED = {"Pbx.ConcealedPassword": "Value", "Pbx.ConcealedDataFile": "Contents"}
# Integer properties by a word of their name: calendar fields stay on the calendar.
_INTEGER_RANGES = {
    "Port": (5000, 5099),
    "Year": (2024, 2026),
    "Month": (1, 12),
    "Day": (1, 28),
    "Hour": (0, 23),
    "Hours": (0, 23),
    "Minute": (0, 59),
    "Minutes": (0, 59),
    "Seconds": (0, 59),
}
_FIRST_NAMES = ("Ada", "Björn", "Chiara", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi")
_LAST_NAMES = ("Lovelace", "Ångström", "Rossi", "Volkov", "Okafor", "Haddad", "Hopper", "Sato")


class SchemaAnswers:
    """Instances of spec schemas drawn from one seeded random stream."""

    def __init__(self, seed: str) -> None:
        self.random = random.Random(seed)  # noqa: S311 - test data, not cryptography

    def instance(self, node: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        """A value valid against the OpenAPI schema `node`; `name` is the property it fills
        (it makes text plausible: an e-mail address for "Email", a secret for "Password")."""
        if "$ref" in node:
            return self._named(node["$ref"].removeprefix(_REF), name, depth)
        if "allOf" in node:
            refs = [part["$ref"] for part in node["allOf"] if "$ref" in part]
            if len(node["allOf"]) == 1 and refs and "properties" not in node:
                return self._named(refs[0].removeprefix(_REF), name, depth)
            return self.object(merged_properties(node), depth)
        for combinator in ("oneOf", "anyOf"):
            if combinator in node:
                # The first choice is the plain one (a number before its "INF" spellings);
                # a value matching only it keeps oneOf satisfied.
                return self.instance(node[combinator][0], name, depth)
        if "enum" in node:
            return self._member(node)
        kind = node.get("type")
        if kind == "array":
            return self.array(node, name, depth)
        if kind == "object" or "properties" in node:
            return self.object(node.get("properties", {}), depth)
        if kind == "boolean":
            return self.random.random() < 0.5
        if kind == "integer":
            return self._integer(node, name)
        if kind == "number":
            return self._number(node)
        return self._text(node, name)

    def object(self, properties: dict[str, dict[str, Any]], depth: int = 0) -> dict[str, Any]:
        """Every property except navigation properties (those come with $expand only)."""
        result = {}
        for prop_name, definition in properties.items():
            if definition.get("x-ms-navigationProperty"):
                continue
            if depth >= MAX_DEPTH and _is_structured(definition):
                result[prop_name] = _cut_short(definition)
                continue
            result[prop_name] = self.instance(definition, prop_name, depth + 1)
        return result

    def array(self, node: dict[str, Any], name: str = "", depth: int = 0) -> list[Any]:
        if depth > MAX_DEPTH:
            return []
        items = node.get("items", {})
        values: list[Any] = []
        for _ in range(self.random.randint(1, 3)):
            value = self.instance(items, _singular(name), depth)
            if node.get("uniqueItems") and value in values:
                continue
            values.append(value)
        return values

    def named_object(self, type_name: str, depth: int = 0) -> dict[str, Any]:
        """An object of the component schema `type_name` ("Pbx.User")."""
        result = self.object(schema_properties(type_name), depth)
        secret_field = _CONCEALED.get(type_name)
        if secret_field:
            result[secret_field] = self._secret(secret_field)
        return result

    # --- values -------------------------------------------------------------------------------

    def _named(self, type_name: str, name: str, depth: int) -> Any:
        target = load_spec()["components"]["schemas"][type_name]
        if "enum" in target:
            return self._member(target)
        if target.get("type") not in (None, "object") and "properties" not in target:
            return self.instance(target, name, depth)
        return self.named_object(type_name, depth)

    def _member(self, node: dict[str, Any]) -> Any:
        """An enum member of the enum's own type: the YAML 1.1 loader reads a member spelt
        No as false (Pbx.AuthenticationType), which a string enum cannot answer."""
        kind = node.get("type", "")
        return self.random.choice([value for value in node["enum"] if _fits(value, kind)])

    def _integer(self, node: dict[str, Any], name: str) -> int:
        low = node.get("minimum", -(2**63))
        high = node.get("maximum", 2**63 - 1)
        if node.get("format") == "uint8":
            low, high = max(low, 0), min(high, 255)
        wanted_low, wanted_high = _integer_range(name)
        if name.endswith("Id"):
            wanted_low = 1
        value = self.random.randint(wanted_low, wanted_high)
        return min(max(value, low), high)

    def _number(self, node: dict[str, Any]) -> float:
        value = round(self.random.uniform(0, 100), 2)
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return value

    def _text(self, node: dict[str, Any], name: str) -> str:
        text = self._format(node.get("format"), name)
        if text is None:
            text = self._plausible(name)
        limit = node.get("maxLength")
        return text[:limit] if limit is not None else text

    def _format(self, text_format: str | None, name: str) -> str | None:
        draw = self.random.randint
        if text_format == "date-time":
            moment = _EPOCH + timedelta(days=draw(0, 400), seconds=draw(0, 86399))
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if text_format == "uuid":
            return str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        if text_format == "duration":
            return f"PT{draw(0, 2)}H{draw(0, 59)}M{draw(0, 59)}S"
        if text_format == "time":
            return f"{draw(0, 23):02d}:{draw(0, 59):02d}:00"
        if text_format in ("byte", "base64url"):
            return "c2ltdWxhdGVk"
        return None

    def _plausible(self, name: str) -> str:
        """Text that looks like what a PBX holds in a property called `name`."""
        draw = self.random.randint
        lowered = name.lower()
        if _SECRET.search(name) or _LICENCE_KEY.search(name):
            return self._secret(name)
        if "email" in lowered:
            return f"{self.random.choice(_FIRST_NAMES).lower()}.{draw(1, 99)}@example.com"
        if name == "FirstName":
            return self.random.choice(_FIRST_NAMES)
        if name == "LastName":
            return self.random.choice(_LAST_NAMES)
        if lowered.endswith(("host", "fqdn", "server", "domain")):
            return f"host{draw(1, 9)}.simulator.test"
        if any(word in lowered for word in ("mobile", "phone", "callerid", "external")):
            return f"+1 415 555 01{draw(0, 99):02d}"
        if lowered.endswith(("number", "dn", "extension")):
            return str(draw(100, 999))
        if lowered.endswith(("url", "uri", "link", "endpoint")):
            return f"https://pbx.simulator.test/{name.lower()}/{draw(1, 99)}"
        if lowered.endswith(("ip", "ipaddress")):
            return f"10.0.{draw(0, 9)}.{draw(1, 254)}"
        if lowered.endswith("macaddress") or lowered == "mac":
            return "00:15:65:" + ":".join(f"{draw(0, 255):02x}" for _ in range(3))
        return f"{name or 'Text'} {draw(1, 999)}"

    def _secret(self, name: str) -> str:
        """Obviously fake secrets, shaped like the real thing: digits for a PIN, four groups
        for a licence key, "sim-secret-xxxx" for passwords, tokens and keys."""
        if name.lower().endswith("pin"):
            return f"{self.random.randint(0, 999999):06d}"
        if _LICENCE_KEY.search(name):
            return "-".join(f"{self.random.getrandbits(16):04X}" for _ in range(4))
        if name == "Contents":
            return f"-----BEGIN PRIVATE KEY-----\nsim-secret-{self.random.getrandbits(16):04x}"
        return f"sim-secret-{self.random.getrandbits(16):04x}"


def merged_properties(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of an object schema, through $ref and allOf (later parts win)."""
    if "$ref" in node:
        name = node["$ref"].removeprefix(_REF)
        target = load_spec()["components"]["schemas"][name]
        return {} if "enum" in target else dict(schema_properties(name))
    found: dict[str, dict[str, Any]] = {}
    for part in node.get("allOf", []):
        found.update(merged_properties(part))
    found.update(node.get("properties", {}))
    return found


def named_type(node: dict[str, Any]) -> str | None:
    """The component name of an object schema written as $ref or a one-part allOf
    ("Pbx.User"); None for inline schemas and enums."""
    ref = node.get("$ref")
    if ref is None and len(node.get("allOf", [])) == 1 and "properties" not in node:
        ref = node["allOf"][0].get("$ref")
    if ref is None:
        return None
    name = ref.removeprefix(_REF)
    return None if "enum" in load_spec()["components"]["schemas"][name] else name


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return value is not None


def _is_structured(definition: dict[str, Any]) -> bool:
    if definition.get("type") == "array":
        return True
    return named_type(definition) is not None or "properties" in definition


def _cut_short(definition: dict[str, Any]) -> Any:
    """What a structured property holds below MAX_DEPTH: [] or null where allowed, else {}
    (none of the spec's object types requires a property)."""
    if definition.get("type") == "array":
        return []
    return None if definition.get("nullable") else {}


def _integer_range(name: str) -> tuple[int, int]:
    """The plausible range for an integer called `name`: the last of its words the table
    knows decides ("YearEnd" is a year, "SipPort" a port); 0-999 otherwise."""
    for word in reversed(re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", name)):
        if word in _INTEGER_RANGES:
            return _INTEGER_RANGES[word]
    return (0, 999)


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name
