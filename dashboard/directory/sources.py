"""What is read from 3CX for each kind of directory entry, and how it maps to typed columns.

Each `Source` names the XAPI collection, what to expand, and a function turning one item into
the typed columns and the references it makes to other entries.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.directory.models import DirectoryRelation, EntryKind
from integrations.threecx import spec

#: 3CX role names that administer the system or a department.
ADMIN_ROLES = frozenset({"system_owners", "system_admins", "group_owners", "group_admins"})


@dataclass(frozen=True)
class Reference:
    kind: str
    target_number: str = ""
    target_external_id: int | None = None
    label: str = ""


@dataclass
class Normalized:
    columns: dict[str, Any]
    references: list[Reference] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    kind: str
    entity_set: str
    normalize: Callable[[dict[str, Any]], Normalized]
    expand: tuple[str, ...] = ()


def _text(value: Any, limit: int = 255) -> str:
    return "" if value is None else str(value)[:limit]


def _user(item: dict[str, Any]) -> Normalized:
    groups = [g for g in item.get("Groups") or [] if isinstance(g, dict)]
    roles = {
        (g.get("Rights") or {}).get("RoleName") for g in groups if isinstance(g.get("Rights"), dict)
    }
    first, last = _text(item.get("FirstName")), _text(item.get("LastName"))
    return Normalized(
        columns={
            "number": _text(item.get("Number"), 40),
            "name": _text(item.get("DisplayName")) or f"{first} {last}".strip(),
            "first_name": first,
            "last_name": last,
            "email": _text(item.get("EmailAddress")),
            "mobile": _text(item.get("Mobile"), 64),
            "phone": _text(item.get("OutboundCallerID"), 64),
            "department": ", ".join(
                sorted({_text(g.get("Name")) for g in groups if g.get("Name")})
            ),
            "enabled": item.get("Enabled"),
            "require_2fa": item.get("Require2FA"),
            "is_admin": bool(roles & ADMIN_ROLES) if roles else None,
            "is_registered": item.get("IsRegistered"),
        },
        references=[
            Reference(
                kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER,
                target_external_id=g.get("GroupId"),
                label=_text(g.get("Name")),
            )
            for g in groups
            if isinstance(g.get("GroupId"), int)
        ],
    )


def _group(item: dict[str, Any]) -> Normalized:
    return Normalized(
        columns={"number": _text(item.get("Number"), 40), "name": _text(item.get("Name"))}
    )


def _contact(item: dict[str, Any]) -> Normalized:
    first, last = _text(item.get("FirstName")), _text(item.get("LastName"))
    company = _text(item.get("CompanyName"))
    return Normalized(
        columns={
            "name": f"{first} {last}".strip() or company,
            "first_name": first,
            "last_name": last,
            "email": _text(item.get("Email")),
            "mobile": _text(item.get("Mobile2"), 64),
            "phone": _text(item.get("Business") or item.get("PhoneNumber"), 64),
            "company": company,
            "department": _text(item.get("Department")),
            "entry_type": _text(item.get("ContactType"), 64),
        }
    )


def _members(kind: str, key: str) -> Callable[[dict[str, Any]], Normalized]:
    def normalize(item: dict[str, Any]) -> Normalized:
        members = [m for m in item.get(key) or [] if isinstance(m, dict)]
        return Normalized(
            columns={
                "number": _text(item.get("Number"), 40),
                "name": _text(item.get("Name")),
                "entry_type": _text(item.get("RingStrategy") or item.get("PollingStrategy"), 64),
                "is_registered": item.get("IsRegistered"),
            },
            references=[
                Reference(
                    kind=kind, target_number=_text(m.get("Number"), 40), label=_text(m.get("Name"))
                )
                for m in members
                if m.get("Number")
            ],
        )

    return normalize


def _ivr(item: dict[str, Any]) -> Normalized:
    references = [
        Reference(
            kind=DirectoryRelation.Kind.IVR_FORWARD,
            target_number=_text(f.get("ForwardDN"), 40),
            label=f"Key {_text(f.get('Input'))}",
        )
        for f in item.get("Forwards") or []
        if isinstance(f, dict) and f.get("ForwardDN")
    ]
    if item.get("TimeoutForwardDN"):
        references.append(
            Reference(
                kind=DirectoryRelation.Kind.IVR_FORWARD,
                target_number=_text(item["TimeoutForwardDN"], 40),
                label="Timeout",
            )
        )
    return Normalized(
        columns={
            "number": _text(item.get("Number"), 40),
            "name": _text(item.get("Name")),
            "entry_type": _text(item.get("IVRType"), 64),
            "is_registered": item.get("IsRegistered"),
        },
        references=references,
    )


def _trunk(item: dict[str, Any]) -> Normalized:
    gateway = item.get("Gateway") if isinstance(item.get("Gateway"), dict) else {}
    return Normalized(
        columns={
            "number": _text(item.get("Number"), 40),
            "name": _text(gateway.get("Name") or item.get("Number")),
            "phone": _text(item.get("ExternalNumber"), 64),
            "entry_type": _text(item.get("Direction"), 64),
            "is_online": item.get("IsOnline"),
        }
    )


def _parking(item: dict[str, Any]) -> Normalized:
    number = _text(item.get("Number"), 40)
    return Normalized(columns={"number": number, "name": _text(item.get("Name")) or number})


SOURCES: tuple[Source, ...] = (
    Source(EntryKind.USER, "Users", _user, expand=("Groups($expand=Rights)",)),
    Source(EntryKind.GROUP, "Groups", _group),
    Source(EntryKind.CONTACT, "Contacts", _contact),
    Source(
        EntryKind.QUEUE,
        "Queues",
        _members(DirectoryRelation.Kind.QUEUE_AGENT, "Agents"),
        expand=("Agents",),
    ),
    Source(
        EntryKind.RING_GROUP,
        "RingGroups",
        _members(DirectoryRelation.Kind.RING_GROUP_MEMBER, "Members"),
        expand=("Members",),
    ),
    Source(EntryKind.IVR, "Receptionists", _ivr, expand=("Forwards",)),
    Source(EntryKind.TRUNK, "Trunks", _trunk),
    Source(EntryKind.PARKING, "Parkings", _parking),
)


def without_secrets(entity_set: str, item: dict[str, Any]) -> dict[str, Any]:
    """The item minus any field the spec marks secret (defence in depth: none is requested)."""
    known_clean = _CLEAN_KEYS.get(entity_set)
    if known_clean is not None and item.keys() <= known_clean:
        return dict(item)  # the common case: every field already checked once
    secrets = spec.entity_set_secret_fields(entity_set)
    clean = {k: v for k, v in item.items() if k not in secrets and not k.startswith("@odata.")}
    _CLEAN_KEYS[entity_set] = (known_clean or frozenset()) | clean.keys()
    return clean


#: Fields the 3CX console shows masked: only their last characters are ever stored or shown.
MASKED_FIELDS: dict[str, frozenset[str]] = {"SystemStatus": frozenset({"LicenseKey"})}
MASK_KEEP = 4


def with_masked_fields(entity_set: str, item: dict[str, Any]) -> dict[str, Any]:
    """The item with every field the console masks reduced to its last 4 characters."""
    fields = MASKED_FIELDS.get(entity_set, frozenset()) & item.keys()
    return {**item, **{name: masked(item[name]) for name in fields}}


def masked(value: Any) -> Any:
    """ "****0001" for "SIMU-LATO-R000-0001"; idempotent, so masking twice changes nothing.
    Short values lose every character: four of five would give the key away."""
    if not isinstance(value, str) or not value:
        return value
    visible = value[-MASK_KEEP:] if len(value) > 2 * MASK_KEEP else ""
    return f"****{visible}" if not value.startswith("****") else value


def content_hash(data: dict[str, Any]) -> str:
    return canonical_json_hash(canonical_json(data))


def canonical_json(data: dict[str, Any]) -> str:
    """The item as compact JSON with sorted keys: the text `content_hash` hashes."""
    return _CANONICAL_JSON.encode(data)


def canonical_json_hash(text: str) -> str:
    """`content_hash` of an item whose `canonical_json` is `text`."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


#: json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")) without building an
#: encoder for every item: the same text, so stored hashes stay valid.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
#: Per entity set, the field names seen so far that are neither secret nor OData annotations.
_CLEAN_KEYS: dict[str, frozenset[str]] = {}
