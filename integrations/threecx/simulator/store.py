"""The simulated PBX's data: entity sets, derived views and mutations.

Reads never take a lock: every set publishes immutable snapshots and a mutation replaces the
snapshot (copy-on-write) under the directory's lock. Contacts are never stored: the base
contacts come from `ContactFactory` on demand and only added, edited and deleted contacts
are kept, so paging costs O(page) whatever the size.
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, cast

from .audit_data import forwarding_profiles, generate_audit
from .config import SimulatorConfig
from .data import ROLES, ContactFactory, Numbering, generate
from .model import TypeInfo, complete, complete_deep, type_info
from .query import QueryOptions, shape
from .settings import PbxSettings

ENTITY_TYPES = {
    "Users": "Pbx.User",
    "Contacts": "Pbx.Contact",
    "Groups": "Pbx.Group",
    "Queues": "Pbx.Queue",
    "RingGroups": "Pbx.RingGroup",
    "Receptionists": "Pbx.Receptionist",
    "Trunks": "Pbx.Trunk",
    "Parkings": "Pbx.Parking",
    "Peers": "Pbx.Peer",
    "InboundRules": "Pbx.InboundRule",
    "OutboundRules": "Pbx.OutboundRule",
    "DidNumbers": "Pbx.DidNumber",
    "SipDevices": "Pbx.SipDevice",
    "Backups": "Pbx.Backups",
}
#: The key of the sets not keyed by their int32 Id (3CX keys these by a string).
KEY_FIELDS = {"DidNumbers": "Number", "Backups": "FileName"}
#: Every entity set's Id is an Edm.Int32 in the spec: any of these is a valid key.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: The Ids `SimulatorConfig.edge_ids` adds a user and a contact at: the ends of the int32
#: range, and -1 and 0, which careless code takes for "no Id".
EDGE_IDS = (INT32_MIN, -1, 0, INT32_MAX)
#: What `Simulator.add/update/delete` (the control API) may change; over /xapi only what the
#: spec allows (DidNumbers, SipDevices and Backups have no POST there).
MUTABLE_SETS = tuple(name for name in ENTITY_TYPES if name != "Peers")
#: The sets whose items are DNs: one Id space and one Number space across all of them.
DN_SETS = ("Users", "Groups", "Queues", "RingGroups", "Receptionists", "Trunks", "Parkings")
# What $search looks at; the other sets search every non-secret text property.
SEARCH_FIELDS = {
    "Pbx.User": (
        "FirstName",
        "LastName",
        "DisplayName",
        "Number",
        "EmailAddress",
        "Mobile",
        "OutboundCallerID",
    ),
    "Pbx.Contact": (
        "FirstName",
        "LastName",
        "CompanyName",
        "Department",
        "Title",
        "Email",
        "PhoneNumber",
        "Business",
        "Business2",
        "Home",
        "Mobile2",
        "Other",
    ),
}
_PEER_TYPES = {
    "Users": "Extension",
    "Groups": "Group",
    "Queues": "Queue",
    "RingGroups": "RingGroup",
    "Receptionists": "IVR",
    "Parkings": "Parking",
}


class EntitySet:
    """One entity set; items are the stored dicts, in key order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.info: TypeInfo = type_info(ENTITY_TYPES[name])
        self.key = KEY_FIELDS.get(name, "Id")

    def count(self) -> int:
        raise NotImplementedError

    def items(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def page(self, skip: int, top: int | None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get(self, key: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def put(self, item: dict[str, Any]) -> None:
        raise NotImplementedError

    def remove(self, key: int) -> None:
        raise NotImplementedError


class StoredSet(EntitySet):
    """A set held in memory: a dict published anew on every change.

    `view` adds what is computed rather than stored (a group's HasMembers) on the way out.
    """

    def __init__(
        self,
        name: str,
        items: list[dict[str, Any]],
        view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name)
        self._items = {item[self.key]: item for item in items}
        self._view = view

    def count(self) -> int:
        return len(self._items)

    def items(self) -> Iterator[dict[str, Any]]:
        values = iter(self._items.values())
        return map(self._view, values) if self._view else values

    def page(self, skip: int, top: int | None) -> list[dict[str, Any]]:
        stop = None if top is None else skip + top
        values = islice(self._items.values(), skip, stop)
        return list(map(self._view, values) if self._view else values)

    def get(self, key: int) -> dict[str, Any] | None:
        item = self._items.get(key)
        return self._view(item) if item is not None and self._view else item

    def stored(self, key: Any) -> dict[str, Any] | None:
        """The item as stored, without the computed properties of `view`."""
        return self._items.get(key)

    def first_key(self) -> int:
        return next(iter(self._items))

    def put(self, item: dict[str, Any]) -> None:
        items = dict(self._items)
        is_new = item[self.key] not in items
        items[item[self.key]] = item
        self._items = dict(sorted(items.items())) if is_new else items

    def replace(self, items: list[dict[str, Any]]) -> None:
        self._items = dict(sorted((item[self.key], item) for item in items))

    def remove(self, key: int) -> None:
        items = dict(self._items)
        del items[key]
        self._items = items


@dataclass(frozen=True)
class _Overlay:
    added: dict[int, dict[str, Any]] = field(default_factory=dict)
    updated: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: tuple[int, ...] = ()  # base indexes, sorted


class ContactSet(EntitySet):
    """Contacts 1..N generated on demand, plus a small overlay of changes.

    Added contacts have Ids outside 1..N: those below 1 come before the generated ones, the
    others after, so that the set stays in key order.
    """

    def __init__(self, factory: ContactFactory, base_count: int) -> None:
        super().__init__("Contacts")
        self.factory = factory
        self.base_count = base_count
        self._overlay = _Overlay()
        self.next_id = base_count + 1

    def count(self) -> int:
        overlay = self._overlay
        return self.base_count - len(overlay.deleted) + len(overlay.added)

    def items(self) -> Iterator[dict[str, Any]]:
        overlay = self._overlay
        low, high = _split_added(overlay)
        yield from low
        deleted = set(overlay.deleted)
        make, updated = self.factory.make, overlay.updated
        for index in range(self.base_count):
            if index in deleted:
                continue
            yield updated.get(index + 1) or make(index)
        yield from high

    def page(self, skip: int, top: int | None) -> list[dict[str, Any]]:
        overlay = self._overlay
        alive = self.base_count - len(overlay.deleted)
        limit = self.count() if top is None else top
        low, high = _split_added(overlay)
        result: list[dict[str, Any]] = low[skip : skip + limit]
        skip = max(0, skip - len(low))
        if len(result) < limit and skip < alive:
            deleted = set(overlay.deleted)
            index = self._nth_alive(skip, overlay.deleted)
            while len(result) < limit and index < self.base_count:
                if index not in deleted:
                    result.append(overlay.updated.get(index + 1) or self.factory.make(index))
                index += 1
        if len(result) < limit:
            offset = max(0, skip - alive)
            result.extend(high[offset : offset + limit - len(result)])
        return result

    def get(self, key: int) -> dict[str, Any] | None:
        overlay = self._overlay
        if key in overlay.added:
            return overlay.added[key]
        index = key - 1
        if not 0 <= index < self.base_count or index in overlay.deleted:
            return None
        return overlay.updated.get(key) or self.factory.make(index)

    def put(self, item: dict[str, Any]) -> None:
        overlay = self._overlay
        key = item["Id"]
        if 1 <= key <= self.base_count:
            deleted = tuple(index for index in overlay.deleted if index != key - 1)
            self._overlay = _Overlay(overlay.added, {**overlay.updated, key: item}, deleted)
        else:
            added = dict(sorted({**overlay.added, key: item}.items()))
            self._overlay = _Overlay(added, overlay.updated, overlay.deleted)

    def remove(self, key: int) -> None:
        overlay = self._overlay
        if key in overlay.added:
            added = {k: v for k, v in overlay.added.items() if k != key}
            self._overlay = _Overlay(added, overlay.updated, overlay.deleted)
            return
        updated = {k: v for k, v in overlay.updated.items() if k != key}
        deleted = tuple(sorted({*overlay.deleted, key - 1}))
        self._overlay = _Overlay(overlay.added, updated, deleted)

    @staticmethod
    def _nth_alive(n: int, deleted: tuple[int, ...]) -> int:
        """The base index of the n-th (0-based) contact that is not deleted."""
        index = n
        while True:
            candidate = n + bisect_right(deleted, index)
            if candidate == index:
                return index
            index = candidate


def _split_added(overlay: _Overlay) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The added contacts that come before the generated ones (Id < 1) and after them."""
    low = [item for key, item in overlay.added.items() if key < 1]
    high = [item for key, item in overlay.added.items() if key >= 1]
    return low, high


class DerivedSet(EntitySet):
    """A read-only set computed from the others (Peers), rebuilt after each change."""

    def __init__(self, name: str, build: Callable[[], list[dict[str, Any]]]) -> None:
        super().__init__(name)
        self._build = build
        self._indexed: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]] | None = None

    def _list(self) -> list[dict[str, Any]]:
        return self._build()

    def count(self) -> int:
        return len(self._list())

    def items(self) -> Iterator[dict[str, Any]]:
        return iter(self._list())

    def page(self, skip: int, top: int | None) -> list[dict[str, Any]]:
        return self._list()[skip : None if top is None else skip + top]

    def get(self, key: int) -> dict[str, Any] | None:
        items = self._list()
        indexed = self._indexed
        if indexed is None or indexed[0] is not items:
            indexed = (items, {item["Id"]: item for item in items})
            self._indexed = indexed
        return indexed[1].get(key)


class Directory:
    """All entity sets of one simulated PBX, their cross-references and their mutations."""

    def __init__(self, config: SimulatorConfig, started_at: datetime) -> None:
        self.config = config
        self.started_at = started_at
        self.numbering = Numbering.for_users(config.users)
        counts = {
            "users": config.users,
            "groups": config.groups,
            "queues": config.queues,
            "ring_groups": config.ring_groups,
            "receptionists": config.receptionists,
            "trunks": config.trunks,
            "parkings": config.parkings,
        }
        generated = generate(config.seed, counts, self.numbering)
        audit = generate_audit(config.seed, generated, self.numbering, config.fqdn, started_at)
        self.settings = PbxSettings(
            licence=audit["LicenseStatus"],
            antihacking=audit["AntiHackingSettings"],
            backup=audit["BackupSettings"],
        )
        self.contact_factory = ContactFactory(config.seed)
        self.sets: dict[str, EntitySet] = {
            "Users": StoredSet("Users", generated.users),
            "Contacts": ContactSet(self.contact_factory, config.contacts),
            "Groups": StoredSet("Groups", generated.groups, view=self._group_view),
            "Queues": StoredSet("Queues", generated.queues),
            "RingGroups": StoredSet("RingGroups", generated.ring_groups),
            "Receptionists": StoredSet("Receptionists", generated.receptionists),
            "Trunks": StoredSet("Trunks", generated.trunks),
            "Parkings": StoredSet("Parkings", generated.parkings),
            "Peers": DerivedSet("Peers", self._peers),
            "InboundRules": StoredSet("InboundRules", audit["InboundRules"]),
            "OutboundRules": StoredSet("OutboundRules", audit["OutboundRules"]),
            "DidNumbers": StoredSet("DidNumbers", audit["DidNumbers"]),
            "SipDevices": StoredSet("SipDevices", audit["SipDevices"]),
            "Backups": StoredSet("Backups", audit["Backups"]),
        }
        self.route_point_id = generated.next_dn_id
        self._next_dn_id = generated.next_dn_id + 1
        self._next_membership_id = generated.next_membership_id
        self._lock = threading.RLock()
        self._version = 0
        self._cache: dict[str, tuple[int, Any]] = {}
        self._rights = {role: _rights(role) for role in ROLES}
        self._add_awkward_entries()

    # reading

    def entity_set(self, name: str) -> EntitySet:
        return self.sets[name]

    def search_fields(self, type_name: str) -> tuple[str, ...] | None:
        return SEARCH_FIELDS.get(type_name)

    def navigate(self, type_name: str, item: dict[str, Any], name: str) -> Any:
        """The value of navigation property `name` of `item` (a `type_name`)."""
        if name == "Groups" and "Groups" in item:
            kind = "Parking" if type_name == "Pbx.Parking" else "Extension"
            return [self._membership(entry, item, kind) for entry in item["Groups"]]
        if type_name == "Pbx.Group" and name == "Members":
            return self._derived("members", self._members_by_group).get(item["Id"], [])
        if type_name == "Pbx.Group" and name == "Rights":
            return list(self._rights.values())
        if type_name == "Pbx.Queue" and name in ("Agents", "Managers"):
            element = "Pbx.QueueAgent" if name == "Agents" else "Pbx.QueueManager"
            return [self._queue_member(entry, element) for entry in item.get(name, [])]
        if type_name == "Pbx.RingGroup" and name == "Members":
            members = item.get("Members", [])
            return [self._queue_member(entry, "Pbx.RingGroupMember") for entry in members]
        if type_name == "Pbx.User" and name == "ForwardingProfiles":
            stored = item.get("ForwardingProfiles")
            if stored is None:
                return forwarding_profiles(item["Id"], item.get("Number"))
            return [complete_deep("Pbx.ForwardingProfile", profile) for profile in stored]
        if type_name == "Pbx.InboundRule" and name == "TrunkDN":
            return self._trunk_peer(item.get("TrunkDN"))
        if type_name == "Pbx.SipDevice" and name == "DN":
            return self._dn_peer(item.get("DN"))
        if type_name == "Pbx.DidNumber" and name == "RoutingRule":
            return self._derived("rules_by_did", self._rules_by_did).get(item.get("Number"))
        prop = type_info(type_name).props[name]
        return item.get(name, [] if prop.type.kind == "collection" else None)

    def render(self, set_name: str, item: dict[str, Any]) -> dict[str, Any]:
        """`item` as the API shows it with every navigation property expanded."""
        info = self.sets[set_name].info
        return copy.deepcopy(shape(item, info, _expand_all(info, depth=2), self.navigate))

    def system_status(self) -> dict[str, Any]:
        users = self.sets["Users"]
        trunks = list(self.sets["Trunks"].items())
        registered = sum(1 for u in users.items() if u.get("Enabled") and u.get("IsRegistered"))
        newest = self.newest_backup()
        computed = {
            "Id": 0,
            "FQDN": self.config.fqdn,
            "Version": self.config.version,
            "ExtensionsTotal": users.count(),
            "UserExtensions": users.count(),
            "ExtensionsRegistered": registered,
            "TrunksTotal": len(trunks),
            "TrunksRegistered": sum(1 for t in trunks if t.get("IsOnline")),
            "OutboundRules": self.sets["OutboundRules"].count(),
            "CallsActive": self.config.seed % 7,
            "OS": "Linux",
            "Ip": "203.0.113.10",
            "IpV4": "203.0.113.10",
            "CurrentLocalIp": "10.0.0.5",
            "AvailableLocalIps": "10.0.0.5",
            "LocalIpValid": True,
            "AutoUpdateEnabled": False,
            "IsAuditLogEnabled": False,
            "BackupScheduled": bool(self.settings.backup.get("ScheduleEnabled")),
            "LastBackupDateTime": newest["CreationTime"] if newest else None,
            "DiskUsage": 42,
            "TotalDiskSpace": 85_899_345_920,
            "FreeDiskSpace": 49_821_620_633,
            "RecordingUsedSpace": 5_368_709_120,
            "LogUsedSpace": 268_435_456,
            "RemoteStorageStatus": "NotConfigured",
        }
        return complete("Pbx.SystemStatus", self.settings.system_status(computed))

    def licence_status(self) -> dict[str, Any]:
        return self.settings.licence_status(version=self.config.version)

    def newest_backup(self) -> dict[str, Any] | None:
        backups = list(self.sets["Backups"].items())
        return max(backups, key=lambda b: b.get("CreationTime") or "", default=None)

    def state(self) -> dict[str, Any]:
        """Every setting the control API changes, as the API shows it."""
        return {
            "SystemStatus": self.system_status(),
            "LicenseStatus": self.licence_status(),
            "AntiHackingSettings": copy.deepcopy(self.settings.antihacking),
            "BackupSettings": copy.deepcopy(self.settings.backup),
            "Backups": copy.deepcopy(list(self.sets["Backups"].items())),
        }

    def state_patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Patch settings (SystemStatus, LicenseStatus, AntiHackingSettings, BackupSettings:
        objects of their fields) and replace the Backups list; ValueError when a name or a
        value does not fit the spec. All or nothing."""
        if not isinstance(changes, dict):
            raise ValueError("the state to change is a JSON object")
        unknown = sorted(set(changes) - {*PbxSettings.NAMES, "Backups"})
        if unknown:
            raise ValueError(
                f"no state {', '.join(unknown)}; use {', '.join((*PbxSettings.NAMES, 'Backups'))}"
            )
        backups = None
        if "Backups" in changes:
            backups = _backups_checked(changes["Backups"])
        with self._lock:
            self.settings.patch({k: v for k, v in changes.items() if k != "Backups"})
            if backups is not None:
                cast(StoredSet, self.sets["Backups"]).replace(backups)
            self._version += 1
        return self.state()

    # changing

    def add(self, set_name: str, item: dict[str, Any]) -> dict[str, Any]:
        entity_set = self._mutable(set_name)
        _check_fields(entity_set.info, item)
        with self._lock:
            new = copy.deepcopy(item)
            key_field = entity_set.key
            if key_field != "Id":
                if not isinstance(new.get(key_field), str) or not new[key_field]:
                    raise ValueError(f"{key_field} must be a non-empty string")
            elif "Id" in new and not _is_int32(new["Id"]):
                raise ValueError(f"Id must be an integer from {INT32_MIN} to {INT32_MAX} (int32)")
            if key_field in new and self._exists(entity_set, new[key_field]):
                raise ValueError(f"{set_name}({new[key_field]!r}) already exists")
            if set_name == "Contacts":
                contacts = cast(ContactSet, entity_set)
                new.setdefault("Id", contacts.next_id)
                if new["Id"] < INT32_MAX:  # an Id at the very edge leaves the numbering alone
                    contacts.next_id = max(contacts.next_id, new["Id"] + 1)
            elif set_name in DN_SETS:
                new.setdefault("Id", self._take_dn_id())
                if new["Id"] < INT32_MAX:
                    self._next_dn_id = max(self._next_dn_id, new["Id"] + 1)
                new.setdefault("Number", self._free_number(set_name))
                self._check_number(new["Number"], new["Id"])
                self._prepare(set_name, new, new)
            else:
                if key_field == "Id":  # the routing sets and SIP devices count on their own
                    new.setdefault("Id", max((i["Id"] for i in entity_set.items()), default=0) + 1)
                new = _filled(entity_set, new)
            entity_set.put(new)
            self._version += 1
        return self.render(set_name, new)

    def update(self, set_name: str, key: Any, changes: dict[str, Any]) -> dict[str, Any]:
        entity_set = self._mutable(set_name)
        _check_fields(entity_set.info, changes)
        if changes.get(entity_set.key, key) != key:
            raise ValueError(f"{entity_set.key} cannot be changed")
        with self._lock:
            current = self._stored(entity_set, key)
            if current is None:
                raise KeyError(f"{set_name}({key!r}) does not exist")
            new = {**copy.deepcopy(current), **copy.deepcopy(changes)}
            if set_name in DN_SETS:
                if new.get("Number") != current.get("Number"):
                    self._check_number(new.get("Number"), key)
                self._prepare(set_name, new, changes)
            elif set_name != "Contacts":
                new = _filled(entity_set, new)
            entity_set.put(new)
            self._version += 1
        return self.render(set_name, new)

    def delete(self, set_name: str, key: Any) -> None:
        entity_set = self._mutable(set_name)
        with self._lock:
            if entity_set.get(key) is None:
                raise KeyError(f"{set_name}({key!r}) does not exist")
            entity_set.remove(key)
            self._version += 1

    def get(self, set_name: str, key: Any) -> dict[str, Any]:
        if set_name not in self.sets:
            raise ValueError(f"unknown entity set {set_name!r}; use one of {tuple(self.sets)}")
        item = self.sets[set_name].get(key)
        if item is None:
            raise KeyError(f"{set_name}({key}) does not exist")
        return self.render(set_name, item)

    # helpers

    def _add_awkward_entries(self) -> None:
        """What `SimulatorConfig.edge_ids` and `null_key_fields` add to the generated data."""
        if self.config.edge_ids:
            for key in EDGE_IDS:
                self.add("Users", {"Id": key, "FirstName": "Edge", "LastName": f"Id {key}"})
                self.add("Contacts", {"Id": key, "FirstName": "Edge", "LastName": f"Id {key}"})
        if self.config.null_key_fields:
            users = cast(StoredSet, self.sets["Users"])
            added = self.add("Users", {"FirstName": "Nobody's", "LastName": "Number"})
            with self._lock:
                # Around _check_number, which refuses a missing Number from a client.
                users.put({**(users.stored(added["Id"]) or {}), "Number": None})
                self._version += 1
            nameless = {"FirstName": None, "LastName": None, "CompanyName": None}
            self.add("Contacts", {**nameless, "PhoneNumber": "+44 20 7946 0018"})
            self.add("Contacts", {**nameless, "Email": None, "PhoneNumber": None})

    def _mutable(self, set_name: str) -> EntitySet:
        if set_name not in MUTABLE_SETS:
            raise ValueError(f"cannot change {set_name!r}; use one of {MUTABLE_SETS}")
        return self.sets[set_name]

    def _exists(self, entity_set: EntitySet, key: Any) -> bool:
        if entity_set.name not in DN_SETS:
            return entity_set.get(key) is not None
        return any(self.sets[name].get(key) is not None for name in DN_SETS)

    @staticmethod
    def _stored(entity_set: EntitySet, key: Any) -> dict[str, Any] | None:
        """The item as stored (a group without its computed HasMembers)."""
        if isinstance(entity_set, StoredSet):
            return entity_set.stored(key)
        return entity_set.get(key)

    def _take_dn_id(self) -> int:
        self._next_dn_id += 1
        return self._next_dn_id - 1

    def _numbers(self) -> dict[str, int]:
        numbers = {}
        for name in DN_SETS:
            for item in self.sets[name].items():
                numbers[item.get("Number")] = item["Id"]
        return numbers

    def _check_number(self, number: Any, key: int) -> None:
        if not isinstance(number, str) or not number:
            raise ValueError("Number must be a non-empty string")
        owner = self._numbers().get(number)
        if owner is not None and owner != key:
            raise ValueError(f"Number {number!r} is already in use")

    def _free_number(self, set_name: str) -> str:
        taken = self._numbers()
        numbering = self.numbering
        candidates = {
            "Users": numbering.user,
            "Queues": numbering.queue,
            "RingGroups": numbering.ring_group,
            "Receptionists": numbering.receptionist,
            "Trunks": numbering.trunk,
            "Parkings": lambda index: f"SP{index}",
            "Groups": lambda index: f"GRP{index:04d}",
        }[set_name]
        index = 0
        while candidates(index) in taken:
            index += 1
        return candidates(index)

    def _prepare(self, set_name: str, item: dict[str, Any], changes: dict[str, Any]) -> None:
        """Fill what 3CX fills itself: memberships, display names."""
        if set_name in ("Users", "Parkings"):
            default_group = self._groups().first_key()
            item.setdefault("Groups", [{"GroupId": default_group, "Rights": {"RoleName": "users"}}])
            for membership in item["Groups"]:
                if self._groups().stored(membership.get("GroupId")) is None:
                    raise ValueError(f"no group with Id {membership.get('GroupId')!r}")
                membership.setdefault("Rights", {"RoleName": "users"})
                if "Id" not in membership:
                    membership["Id"] = self._next_membership_id
                    self._next_membership_id += 1
        if set_name == "Users":
            if item["Groups"]:
                item.setdefault("PrimaryGroupId", item["Groups"][0]["GroupId"])
            item.setdefault("Enabled", True)
            renamed = bool({"FirstName", "LastName"} & set(changes))
            if "DisplayName" not in changes and (renamed or "DisplayName" not in item):
                name = f"{item.get('FirstName') or ''} {item.get('LastName') or ''}".strip()
                item["DisplayName"] = name

    def _derived(self, name: str, build: Callable[[], Any]) -> Any:
        """A value computed from the sets, kept until the next change."""
        version = self._version
        cached = self._cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        value = build()
        self._cache[name] = (version, value)
        return value

    def _groups(self) -> StoredSet:
        return cast(StoredSet, self.sets["Groups"])

    def _users_by_number(self) -> dict[str, dict[str, Any]]:
        return self._derived(
            "users_by_number", lambda: {u["Number"]: u for u in self.sets["Users"].items()}
        )

    def _membership(self, entry: dict[str, Any], member: dict[str, Any], kind: str) -> dict:
        group = self._groups().stored(entry.get("GroupId")) or {}
        role = (entry.get("Rights") or {}).get("RoleName", "users")
        rights = self._rights.get(role) or _rights(role)
        if kind == "Parking":
            member_name = f"Shared Park {member.get('Number')}"
        else:
            member_name = member.get("DisplayName") or ""
        return complete(
            "Pbx.UserGroup",
            {
                "Id": entry.get("Id"),
                "GroupId": entry.get("GroupId"),
                "Name": group.get("Name"),
                "Number": member.get("Number"),
                "MemberName": member_name,
                "Type": kind,
                "CanDelete": not group.get("IsDefault", False),
                "Rights": rights,
                "GroupRights": rights,
            },
        )

    def _members_by_group(self) -> dict[int, list[dict[str, Any]]]:
        members: dict[int, list[dict[str, Any]]] = {}
        for set_name, kind in (("Users", "Extension"), ("Parkings", "Parking")):
            for item in self.sets[set_name].items():
                for entry in item.get("Groups", []):
                    rendered = self._membership(entry, item, kind)
                    members.setdefault(entry.get("GroupId"), []).append(rendered)
        return members

    def _queue_member(self, entry: dict[str, Any], type_name: str) -> dict[str, Any]:
        user = self._users_by_number().get(entry.get("Number"))
        values = {"Number": entry.get("Number"), "Tags": []}
        if user is not None:
            values.update(Id=user["Id"], Name=user.get("DisplayName"))
        elif entry.get("Id") is not None:  # left behind by a deleted or renumbered user
            values.update(Id=entry["Id"], Name=entry.get("Name"))
        if "SkillGroup" in type_info(type_name).props:
            values["SkillGroup"] = entry.get("SkillGroup", "")
        return complete(type_name, values)

    def _trunk_peer(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        """The Pbx.Peer of the trunk `ref` ({"Id": ..., "Number": ...}) names."""
        if not ref:
            return None
        trunk = self.sets["Trunks"].get(ref.get("Id")) or {}
        return complete(
            "Pbx.Peer",
            {
                "Id": trunk.get("Id", ref.get("Id")),
                "Number": trunk.get("Number", ref.get("Number")),
                "Name": (trunk.get("Gateway") or {}).get("Name") or "",
                "Type": "ExternalLine",
                "Hidden": False,
            },
        )

    def _dn_peer(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        """The Pbx.Peer of the DN `ref` ({"Id": ..., "Number": ...}) names, as Peers has it
        (a DN deleted since keeps the Id and Number it had)."""
        if not ref:
            return None
        peer = self.sets["Peers"].get(ref.get("Id"))
        if peer is None:
            peers = self._derived(
                "peers_by_number", lambda: {p["Number"]: p for p in self._peers()}
            )
            peer = peers.get(ref.get("Number"))
        if peer is not None:
            return peer
        key = ref.get("Id") if _is_int32(ref.get("Id")) else 0
        return complete("Pbx.Peer", {"Id": key, "Number": ref.get("Number"), "Name": ""})

    def _rules_by_did(self) -> dict[str, dict[str, Any]]:
        rules: dict[str, dict[str, Any]] = {}
        for rule in self.sets["InboundRules"].items():
            rules.setdefault(rule.get("Data"), rule)
        return rules

    def _group_view(self, group: dict[str, Any]) -> dict[str, Any]:
        members = self._derived("members", self._members_by_group)
        return {**group, "HasMembers": bool(members.get(group["Id"]))}

    def _peers(self) -> list[dict[str, Any]]:
        return self._derived("peers", self._build_peers)

    def _build_peers(self) -> list[dict[str, Any]]:
        peers = []
        for set_name, kind in _PEER_TYPES.items():
            for item in self.sets[set_name].items():
                if set_name == "Users":
                    name = item.get("DisplayName") or ""
                elif set_name == "Parkings":
                    name = f"Shared Park {item['Number']}"
                else:
                    name = item.get("Name") or ""
                member_of = [
                    complete(
                        "Pbx.PeerGroup",
                        {
                            "GroupID": entry.get("GroupId"),
                            "IsPrimary": entry.get("GroupId") == item.get("PrimaryGroupId"),
                            "Name": (self._groups().stored(entry.get("GroupId")) or {}).get("Name"),
                            "Number": item.get("Number"),
                            "RoleName": (entry.get("Rights") or {}).get("RoleName"),
                        },
                    )
                    for entry in item.get("Groups", [])
                ]
                peers.append(
                    complete(
                        "Pbx.Peer",
                        {
                            "Id": item["Id"],
                            "Number": item["Number"],
                            "Name": name,
                            "Type": kind,
                            "Hidden": bool(item.get("HideInPhonebook", False)),
                            "Tags": list(item.get("Tags", [])),
                            "MemberOf": member_of,
                        },
                    )
                )
        if self.config.client_id not in {peer["Number"] for peer in peers}:
            peers.append(
                complete(
                    "Pbx.Peer",
                    {
                        "Id": self.route_point_id,
                        "Number": self.config.client_id,
                        "Name": "XAPI client",
                        "Type": "RoutePoint",
                        "Hidden": True,
                    },
                )
            )
        peers.sort(key=lambda peer: peer["Id"])
        return peers


def _expand_all(info: TypeInfo, depth: int) -> QueryOptions:
    """Options expanding every navigation property, `depth` levels down."""
    if depth == 0:
        return QueryOptions()
    expand = {}
    for name in info.navigation:
        target = info.props[name].type
        target = target.element or target if target.kind == "collection" else target
        expand[name] = _expand_all(type_info(target.name or ""), depth - 1)
    return QueryOptions(expand=expand)


def _is_int32(value: Any) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and INT32_MIN <= value <= INT32_MAX
    )


def _check_fields(info: TypeInfo, item: Any) -> None:
    if not isinstance(item, dict):
        raise ValueError(f"an item of {info.name} must be a JSON object")
    unknown = [name for name in item if name not in info.props]
    if unknown:
        raise ValueError(f"{info.name} has no properties {', '.join(sorted(unknown))}")


def _rights(role: str) -> dict[str, Any]:
    admin = role in ("system_owners", "system_admins", "group_owners", "group_admins")
    manager = admin or role == "managers"
    return complete(
        "Pbx.Rights",
        {
            "RoleName": role,
            "AllowIVR": manager,
            "AllowParking": True,
            "AllowToChangePresence": manager or role == "receptionists",
            "AllowToManageCompanyBook": manager,
            "AssignClearOperations": manager,
            "CanBargeIn": admin,
            "CanIntercom": True,
            "CanSeeGroupCalls": manager,
            "CanSeeGroupMembers": True,
            "CanSeeGroupRecordings": admin,
            "PerformOperations": manager or role == "receptionists",
            "ShowMyCalls": True,
            "ShowMyPresence": True,
            "ShowMyPresenceOutside": False,
        },
    )


def _filled(entity_set: EntitySet, item: dict[str, Any]) -> dict[str, Any]:
    """An audit set's item with every structural property, sub-objects included; the
    navigation properties it stores (TrunkDN, DN) stay as given."""
    navigation = {name: item[name] for name in entity_set.info.navigation if name in item}
    return {**complete_deep(entity_set.info.name, item), **navigation}


def _backups_checked(items: Any) -> list[dict[str, Any]]:
    """A new Backups list: each a JSON object of Pbx.Backups fields with a FileName."""
    if not isinstance(items, list):
        raise ValueError("Backups is a list of backups")
    info = type_info("Pbx.Backups")
    checked = []
    for item in items:
        _check_fields(info, item)
        if not isinstance(item.get("FileName"), str) or not item["FileName"]:
            raise ValueError("every backup needs a FileName")
        created = item.get("CreationTime")
        if created is not None and not _is_timestamp(created):
            raise ValueError(f"CreationTime must be an ISO 8601 time, not {created!r}")
        checked.append(complete("Pbx.Backups", copy.deepcopy(item)))
    return checked


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
