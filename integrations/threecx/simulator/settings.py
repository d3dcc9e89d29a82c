"""The simulated PBX's settings singletons: LicenseStatus, AntiHackingSettings, BackupSettings,
and what tests pin on SystemStatus.

SystemStatus repeats the licence's fields (ExpirationDate, LicenseActive, LicenseKey...); both
answers read them from one place, so that a test changing the licence sees both change.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from .model import TypeInfo, complete, enum_members, type_info

#: Fields Pbx.SystemStatus shares with Pbx.LicenseStatus (Version is the PBX's, not the key's).
_LICENCE_FIELDS = frozenset(type_info("Pbx.LicenseStatus").structural) & frozenset(
    type_info("Pbx.SystemStatus").structural
) - {"Version"}


class PbxSettings:
    """Current values of the settings singletons; `patch` checks names and types first."""

    NAMES = ("SystemStatus", "LicenseStatus", "AntiHackingSettings", "BackupSettings")

    def __init__(
        self, *, licence: dict[str, Any], antihacking: dict[str, Any], backup: dict[str, Any]
    ) -> None:
        self.licence = licence
        self.antihacking = complete("Pbx.AntiHackingSettings", antihacking)
        self.backup = backup
        self.status_overrides: dict[str, Any] = {}

    def system_status(self, computed: dict[str, Any]) -> dict[str, Any]:
        """SystemStatus: what the directory computes, the licence's fields, then what a test
        pinned with `patch`."""
        licence = {name: self.licence.get(name) for name in _LICENCE_FIELDS}
        return {**computed, **licence, **self.status_overrides}

    def licence_status(self, *, version: str) -> dict[str, Any]:
        return complete("Pbx.LicenseStatus", {**copy.deepcopy(self.licence), "Version": version})

    def patch(self, changes: dict[str, Any]) -> None:
        """Apply {singleton name: {field: value}}; nothing changes unless everything fits."""
        checked = {}
        for name, fields in changes.items():
            info = type_info(f"Pbx.{name}")
            check_values(info, fields)
            checked[name] = copy.deepcopy(fields)
        for name, fields in checked.items():
            if name in ("SystemStatus", "LicenseStatus"):
                shared = {k: v for k, v in fields.items() if k in _LICENCE_FIELDS}
                self.licence.update(shared)
                if name == "SystemStatus":
                    rest = {k: v for k, v in fields.items() if k not in _LICENCE_FIELDS}
                    self.status_overrides.update(rest)
                else:
                    self.licence.update(fields)
            elif name == "AntiHackingSettings":
                self.antihacking.update(fields)
            else:
                self.backup = _merge(self.backup, fields)


def check_values(info: TypeInfo, fields: Any) -> None:
    """ValueError unless `fields` is an object of `info`'s structural properties whose values
    have the spec's types (null allowed where the spec allows it)."""
    if not isinstance(fields, dict):
        raise ValueError(f"changes to {info.name} are a JSON object")
    for name, value in fields.items():
        prop = info.prop(name)
        if prop is None or prop.navigation:
            raise ValueError(f"{info.name} has no property {name}")
        if value is None:
            if not prop.type.nullable and prop.type.kind not in ("complex", "collection"):
                raise ValueError(f"{info.name}.{name} cannot be null")
            continue
        if not _fits(prop.type.kind, prop.type.name, value):
            raise ValueError(
                f"{info.name}.{name} must be a {prop.type.label or prop.type.kind}, not {value!r}"
            )


def _fits(kind: str, type_name: str | None, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "datetime":
        if not isinstance(value, str):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if kind == "enum":
        return value in enum_members(type_name or "")
    if kind == "complex":
        if not isinstance(value, dict):
            return False
        check_values(type_info(type_name or ""), value)
        return True
    return isinstance(value, list)


def _merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `current`, merging sub-objects (PATCH Schedule.Time keeps Schedule.Day)."""
    merged = copy.deepcopy(current)
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = copy.deepcopy(value)
    return merged
