"""Hiding secrets in what the console shows, downloads and keeps: answers and typed bodies.

A property is secret wherever it appears (any operation's answer or body, at any depth) when
some schema of the spec declares it so:

- the spec's own rule (`spec.secret_fields`): a text property named ...Password, ...PIN,
  ...Secret, ...ApiKey or ...Token, or one holding a `Pbx.ConcealedPassword`;
- a `Pbx.ConcealedDataFile` (private keys: its Contents);
- a few names that rule misses: AccessKey (half of the Amazon credential pair), PinNumber
  (the conference PIN) and the provisioning links (a phone's link serves its configuration,
  SIP credentials included, to whoever has it).

Licence keys (LicenseKey, licenseKey) keep their last 4 characters, as the 3CX console shows
them: "****0001". A few operations answer nothing but a secret (`{"value": "<token>"}`):
their `value` is masked when the operation is named (`CREDENTIAL_ANSWERS`).

Masking is by name, not by schema, because the answers of 600 operations (and bodies as
typed) are masked without knowing which schema each object is: a name that is secret in one
schema is masked everywhere. Only text and numbers are masked; a boolean (DeskphonePassword
is one in some schemas: "has a password"), null and "" are left as they are.
"""

import re
from functools import cache
from typing import Any

from integrations.threecx import spec
from integrations.threecx.operations.catalogue import CREDENTIAL_ANSWERS

MASK = "********"
LICENCE_MASK = "****"
#: Characters of a licence key left visible; none when the key is shorter than twice this
#: (four of five characters would give it away).
LICENCE_KEEP = 4

_LICENCE_KEY = re.compile(r"licen[cs]e_?key$", re.IGNORECASE)
_CONCEALED_FILE = "#/components/schemas/Pbx.ConcealedDataFile"
#: Secrets the spec's rule cannot see by name or type. "Json" is Get Directory Info's
#: (Pbx.DirectoryParameters, the only schema with it): a storage location's settings,
#: credentials included, which the storage browser keeps encrypted too.
EXTRA_SECRET_NAMES = frozenset(
    {
        "AccessKey",
        "Json",
        "PinNumber",
        "ProvLink",
        "ProvisionLink",
        "ProvisionUrl",
        "ProvisioningLinkExt",
        "ProvisioningLinkLocal",
    }
)
#: Names that match the secret rule but hold nothing secret: a page token of a Microsoft 365
#: listing, which a user needs to ask for the next page.
NOT_SECRET_NAMES = frozenset({"NextPageToken"})


@cache
def secret_property_names() -> frozenset[str]:
    """Every property name some schema of the spec declares secret (licence keys included)."""
    names = set(EXTRA_SECRET_NAMES)
    for name in spec.load_spec()["components"]["schemas"]:
        names |= spec.secret_fields(name)
    for properties in _inline_properties():
        names |= {name for name, definition in properties.items() if _is_secret(name, definition)}
    names |= {name for name in _all_property_names() if _LICENCE_KEY.search(name)}
    return frozenset(names - NOT_SECRET_NAMES)


def secrets_mask(data: Any, *, operation_id: str = "") -> Any:
    """A copy of `data` with every secret property's value masked (MASK; licence keys
    "****" + their last 4 characters), at any depth of dicts and lists. `operation_id` masks
    the `value` of an answer that is a secret as a whole (`CREDENTIAL_ANSWERS`)."""
    masked = _mask(data, secret_property_names())
    if operation_id in CREDENTIAL_ANSWERS and isinstance(masked, dict) and "value" in masked:
        masked["value"] = _conceal(masked["value"])
    return masked


def licence_mask(value: Any) -> Any:
    """ "****0001" for "SIMU-LATO-R000-0001"; masking twice changes nothing."""
    if not isinstance(value, str) or not value or value.startswith(LICENCE_MASK):
        return value
    visible = value[-LICENCE_KEEP:] if len(value) > 2 * LICENCE_KEEP else ""
    return f"{LICENCE_MASK}{visible}"


# --- helpers -------------------------------------------------------------------------------


def _mask(data: Any, secrets: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {key: _mask_property(key, value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [_mask(item, secrets) for item in data]
    return data


def _mask_property(key: Any, value: Any, secrets: frozenset[str]) -> Any:
    if key in secrets:
        return licence_mask(value) if _LICENCE_KEY.search(str(key)) else _conceal(value)
    return _mask(value, secrets)


def _conceal(value: Any) -> Any:
    """MASK for every text or number in a secret's value (a ConcealedPassword's Value, a
    ConcealedDataFile's Contents and Name); booleans, null and "" stay."""
    if isinstance(value, dict):
        return {key: _conceal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_conceal(item) for item in value]
    if isinstance(value, bool) or value is None or value == "":
        return value
    if isinstance(value, str | int | float):
        return MASK
    return value


def _is_secret(name: str, definition: dict) -> bool:
    """The spec's rule (as `spec.secret_fields` applies it), plus concealed data files."""
    refs = {definition.get("$ref")} | {part.get("$ref") for part in definition.get("allOf", [])}
    return _CONCEALED_FILE in refs or spec.is_secret_property(name, definition)


@cache
def _inline_properties() -> tuple[dict[str, dict], ...]:
    """Every `properties` map of the spec: components' and those written inline in paths,
    request bodies and responses (action parameters such as Restore's `password`)."""
    found: list[dict[str, dict]] = []
    pending: list[Any] = [spec.load_spec()]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict) and all(
                isinstance(value, dict) for value in properties.values()
            ):
                found.append(properties)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return tuple(found)


def _all_property_names() -> set[str]:
    return {name for properties in _inline_properties() for name in properties}
