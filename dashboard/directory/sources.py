"""What is read from 3CX for each kind of directory entry, and how it maps to typed columns.

Each `Source` names the XAPI collection, what to expand, and a function turning one item into
the typed columns and the references it makes to other entries. `SETTINGS` names the single
objects read with the directory (licence, anti-hacking, backups), kept whole on the run.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dashboard.directory.models import DirectoryRelation, EntryKind
from integrations.threecx import spec

#: 3CX role names that administer the system or a department.
ADMIN_ROLES = frozenset({"system_owners", "system_admins", "group_owners", "group_admins"})


#: 3CX DestinationType values that send a call to the outside world: the number is in
#: Destination.External, not Destination.Number.
EXTERNAL_DESTINATIONS = frozenset({"External"})
#: What `Reference.target_type` says for references that name no 3CX destination type.
TARGET_EXTENSION, TARGET_GROUP, TARGET_TRUNK = "Extension", "Group", "Trunk"


@dataclass(frozen=True)
class Reference:
    kind: str
    target_number: str = ""
    target_external_id: int | None = None
    label: str = ""
    #: The target's type in 3CX's words (DestinationType, IVRForwardType...), or one of the
    #: TARGET_ constants.
    target_type: str = ""


@dataclass
class Normalized:
    columns: dict[str, Any]
    references: list[Reference] = field(default_factory=list)


def item_id(item: dict[str, Any]) -> int | None:
    """The item's integer Id, or None (a bool is not an id)."""
    value = item.get("Id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def did_external_id(item: dict[str, Any]) -> int | None:
    """A DID number's stand-in Id, since DidNumbers are keyed by their Number (a string).

    The first 8 bytes of the SHA-256 of the number exactly as the server wrote it, top bit
    cleared: the same on every run, process and Python version (unlike hash()), never
    negative, and within the signed 64-bit range of the column and of entry URLs. Two numbers
    sharing one (odds about 1 in 2 billion among 100,000 numbers) would show as one entry.
    """
    number = item.get("Number")
    if not isinstance(number, str) or not number:
        return None
    digest = hashlib.sha256(number.encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


@dataclass(frozen=True)
class Source:
    kind: str
    entity_set: str
    normalize: Callable[[dict[str, Any]], Normalized]
    expand: tuple[str, ...] = ()
    #: How an item's external id is found (most sets have an integer Id).
    external_id: Callable[[dict[str, Any]], int | None] = item_id
    #: A stable order for paging: the set's key.
    orderby: str = "Id"
    #: The properties asked for; None: every one the spec knows but secrets.
    select: tuple[str, ...] | None = None
    #: Added to 3CX after V20's first releases: a server answering that it has no such set
    #: ("not available on this version") keeps the kind's entries as they were. The first
    #: sets fail the run instead: every V20 has them, so a 404 there means a wrong address.
    optional: bool = False


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
            *(
                Reference(
                    kind=DirectoryRelation.Kind.DEPARTMENT_MEMBER,
                    target_external_id=g.get("GroupId"),
                    label=_text(g.get("Name")),
                    target_type=TARGET_GROUP,
                )
                for g in groups
                if isinstance(g.get("GroupId"), int)
            ),
            *_forwarding(item.get("ForwardingProfiles")),
        ],
    )


#: Where a forwarding profile sends calls: (route, its destination field, the label's words).
_FORWARDING_ROUTES = (
    ("AvailableRoute", "NoAnswerExternal", "no answer, external callers"),
    ("AvailableRoute", "NoAnswerInternal", "no answer, internal callers"),
    ("AvailableRoute", "BusyExternal", "busy, external callers"),
    ("AvailableRoute", "BusyInternal", "busy, internal callers"),
    ("AvailableRoute", "NotRegisteredExternal", "not registered, external callers"),
    ("AvailableRoute", "NotRegisteredInternal", "not registered, internal callers"),
    ("AwayRoute", "External", "all calls, external callers"),
    ("AwayRoute", "Internal", "all calls, internal callers"),
)


def _forwarding(profiles: Any) -> list[Reference]:
    """A user's forwarding profiles as FORWARDING references, one per destination that names
    a number, labelled "Out of office: no answer, external callers". Every profile counts,
    not only the current one: a user switches profiles with one click."""
    references = []
    for profile in profiles if isinstance(profiles, list) else ():
        if not isinstance(profile, dict):
            continue
        name = _text(profile.get("CustomName") or profile.get("Name")) or "Profile"
        for route_name, field_name, words in _FORWARDING_ROUTES:
            route = profile.get(route_name)
            if isinstance(route, dict):
                reference = destination_reference(
                    DirectoryRelation.Kind.FORWARDING,
                    route.get(field_name),
                    label=f"{name}: {words}",
                )
                if reference is not None:
                    references.append(reference)
    return references


def destination_reference(kind: str, destination: Any, *, label: str) -> Reference | None:
    """A Pbx.Destination as a reference, or None when it names no number (not set, or "None":
    the call ends there).

    target_type is the DestinationType (`To`: "Extension", "VoiceMail", "External"...), which
    says where the call goes; `Type` (a PeerType) only says what owns `Number`, and is the
    fallback for a server that sends no `To`. An external destination's number is `External`.
    """
    if not isinstance(destination, dict):
        return None
    target_type = _text(destination.get("To") or destination.get("Type"), 32)
    if target_type == "None":
        return None
    if target_type in EXTERNAL_DESTINATIONS:
        number = destination.get("External") or destination.get("Number")
    else:
        number = destination.get("Number") or destination.get("External")
    if not number:
        return None
    return Reference(
        kind=kind, target_number=_text(number, 40), target_type=target_type, label=label
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
                    kind=kind,
                    target_number=_text(m.get("Number"), 40),
                    label=_text(m.get("Name")),
                    target_type=TARGET_EXTENSION,
                )
                for m in members
                if m.get("Number")
            ],
        )

    return normalize


#: An IVR's routes outside its keys: (field, label).
_IVR_ROUTES = (
    ("BreakRoute", "Break route"),
    ("HolidaysRoute", "Holidays"),
    ("OutOfOfficeRoute", "Out of office"),
)


def _ivr(item: dict[str, Any]) -> Normalized:
    references = [
        Reference(
            kind=DirectoryRelation.Kind.IVR_FORWARD,
            target_number=_text(f.get("ForwardDN"), 40),
            label=f"Key {_text(f.get('Input'))}",
            target_type=_text(f.get("ForwardType"), 32),
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
                target_type=_text(item.get("TimeoutForwardType"), 32),
            )
        )
    for field_name, label in _IVR_ROUTES:
        route = item.get(field_name)
        if isinstance(route, dict):
            reference = destination_reference(
                DirectoryRelation.Kind.IVR_FORWARD, route.get("Route"), label=label
            )
            if reference is not None:
                references.append(reference)
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


#: An inbound rule's destinations: (field, label, the flag that puts it in force or None).
_INBOUND_DESTINATIONS = (
    ("OfficeHoursDestination", "Office hours", None),
    (
        "OutOfOfficeHoursDestination",
        "Out of office hours",
        "AlterDestinationDuringOutOfOfficeHours",
    ),
    ("HolidaysDestination", "Holidays", "AlterDestinationDuringHolidays"),
)


def _inbound_rule(item: dict[str, Any]) -> Normalized:
    """A DID rule. Its out-of-office and holiday destinations count only while the rule says
    to use them (3CX keeps a destination it does not use): otherwise calls go to the office
    hours destination at all times."""
    references = []
    for field_name, label, flag in _INBOUND_DESTINATIONS:
        if flag is not None and item.get(flag) is False:
            continue
        reference = destination_reference(
            DirectoryRelation.Kind.INBOUND_DESTINATION, item.get(field_name), label=label
        )
        if reference is not None:
            references.append(reference)
    return Normalized(
        columns={
            "number": _text(item.get("Data"), 40),
            "name": _text(item.get("RuleName")),
            "entry_type": _text(item.get("CallType"), 64),
        },
        references=references,
    )


def _outbound_rule(item: dict[str, Any]) -> Normalized:
    routes = [r for r in item.get("Routes") or [] if isinstance(r, dict)]
    return Normalized(
        columns={
            "number": _text(item.get("Prefix"), 40),
            "name": _text(item.get("Name")),
            # The column the listing filters on; data["EmergencyRule"] keeps the flag itself.
            "entry_type": "Emergency" if item.get("EmergencyRule") else "Standard",
        },
        references=[
            Reference(
                kind=DirectoryRelation.Kind.OUTBOUND_ROUTE,
                target_external_id=r["TrunkId"],
                label=_text(r.get("TrunkName")),
                target_type=TARGET_TRUNK,
            )
            for r in routes
            if isinstance(r.get("TrunkId"), int) and not isinstance(r.get("TrunkId"), bool)
        ],
    )


def _did(item: dict[str, Any]) -> Normalized:
    trunk = item.get("TrunkId")
    has_trunk = isinstance(trunk, int) and not isinstance(trunk, bool)
    return Normalized(
        columns={
            "number": _text(item.get("Number"), 40),
            "entry_type": _text(item.get("TemplateFileName"), 64),
        },
        references=[
            Reference(
                kind=DirectoryRelation.Kind.DID_TRUNK,
                target_external_id=trunk,
                target_type=TARGET_TRUNK,
            )
        ]
        if has_trunk
        else [],
    )


def _sip_device(item: dict[str, Any]) -> Normalized:
    """A phone. It counts as registered when its Registrar has an IP address: 3CX fills the
    Registrar with the device's current registration (empty when it has none)."""
    dn = item.get("DN") if isinstance(item.get("DN"), dict) else {}
    registrar = item.get("Registrar") if isinstance(item.get("Registrar"), dict) else {}
    vendor, model = _text(registrar.get("Vendor")), _text(registrar.get("Model"))
    number = _text(dn.get("Number"), 40)
    return Normalized(
        columns={
            "number": number,
            "name": f"{vendor} {model}".strip() or _text(registrar.get("MAC")),
            "entry_type": vendor[:64],
            "is_registered": bool(registrar.get("IpAddress")),
        },
        references=[
            Reference(
                kind=DirectoryRelation.Kind.DEVICE_OF,
                target_number=number,
                label=_text(dn.get("Name")),
                target_type=_text(dn.get("Type"), 32) or TARGET_EXTENSION,
            )
        ]
        if number
        else [],
    )


SOURCES: tuple[Source, ...] = (
    Source(EntryKind.USER, "Users", _user, expand=("Groups($expand=Rights)", "ForwardingProfiles")),
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
    Source(
        EntryKind.INBOUND_RULE,
        "InboundRules",
        _inbound_rule,
        expand=("TrunkDN",),
        optional=True,
    ),
    Source(EntryKind.OUTBOUND_RULE, "OutboundRules", _outbound_rule, optional=True),
    Source(
        EntryKind.DID,
        "DidNumbers",
        _did,
        external_id=did_external_id,
        orderby="Number",
        optional=True,
    ),
    # ProvLink is left out although the spec does not call it secret: a phone's provisioning
    # link serves its configuration, SIP credentials included, to whoever has it.
    Source(
        EntryKind.SIP_DEVICE,
        "SipDevices",
        _sip_device,
        expand=("DN",),
        select=("Id", "Registrar"),
        optional=True,
    ),
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


@dataclass(frozen=True)
class Setting:
    """A single object read with the directory, kept in `pbx_settings[key]`."""

    key: str
    #: The XAPI path it is read from (an entity set, singleton or function).
    path: str
    #: Its spec schema: what is secret in it, at any depth.
    schema: str


#: Read after the directory, in this order; a failure is a warning, not a failed run.
SETTINGS: tuple[Setting, ...] = (
    Setting("LicenseStatus", "LicenseStatus", "Pbx.LicenseStatus"),
    Setting("AntiHackingSettings", "AntiHackingSettings", "Pbx.AntiHackingSettings"),
    Setting("BackupSettings", "Backups/Pbx.GetBackupSettings()", "Pbx.BackupSettings"),
)
#: The Backups collection is kept as a summary: {"count": 3, "newest": "2026-12-01T02:00:00Z"}.
BACKUPS = Setting("Backups", "Backups", "Pbx.Backups")


def setting_clean(setting: Setting, item: dict[str, Any]) -> dict[str, Any]:
    """`item` without secrets at any depth (BackupSettings holds the backup encryption
    password), without OData annotations, and with the fields the console masks masked."""
    clean = _without_schema_secrets(item, setting.schema)
    return with_masked_fields(setting.key, clean)


def backups_summary(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """How many backups the server lists and when the newest was made (None without one).
    Download links and file names are not kept."""
    count, newest, newest_at = 0, None, None
    for item in items:
        count += 1
        created = item.get("CreationTime")
        moment = _moment(created)
        if moment is not None and (newest_at is None or moment > newest_at):
            newest, newest_at = created, moment
    return {"count": count, "newest": newest}


#: Fields the 3CX console shows masked: only their last characters are ever stored or shown.
MASKED_FIELDS: dict[str, frozenset[str]] = {
    "SystemStatus": frozenset({"LicenseKey"}),
    "LicenseStatus": frozenset({"LicenseKey"}),
}
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


def _without_schema_secrets(value: Any, schema_name: str | None) -> Any:
    if isinstance(value, list):
        return [_without_schema_secrets(v, schema_name) for v in value]
    if not isinstance(value, dict):
        return value
    known = spec.schema_properties(schema_name) if schema_name else {}
    secrets = spec.secret_fields(schema_name) if schema_name else frozenset()
    return {
        key: _without_schema_secrets(item, _schema_of(known.get(key)))
        for key, item in value.items()
        if key not in secrets and not key.startswith("@odata.")
    }


def _schema_of(definition: dict[str, Any] | None) -> str | None:
    """The schema a property's value (or its items) is described by, if it is an object."""
    if not definition:
        return None
    node = definition.get("items", definition)
    refs = [node.get("$ref"), *(part.get("$ref") for part in node.get("allOf", []))]
    ref = next((r for r in refs if r), None)
    return ref.rsplit("/", 1)[-1] if ref else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")) without building an
#: encoder for every item: the same text, so stored hashes stay valid.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
#: Per entity set, the field names seen so far that are neither secret nor OData annotations.
_CLEAN_KEYS: dict[str, frozenset[str]] = {}
