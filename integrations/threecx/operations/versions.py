"""Which XAPI operations a 3CX server offers, told from its version (`X-3CX-Version`).

    operation_availability(operation_get("ListOAuthClient"), "20.0.9.1044")
    # Availability(available=False, note="Not in 20.0.9 (this PBX runs 20.0.9.1044): ...")

The spec changes with every update, so the project carries the operation lists of the spec
versions it can tell apart: V20 Update 10 is `spec/swagger.yaml` itself (the catalogue), and
each older one is a compact list in `spec/versions/<version>.json` (operations keyed by method
and path template, as operationIds get renamed between updates). `spec/versions/SOURCE.md`
says where each list comes from and which versions exist but are not carried.

A server is matched by its update (20.0.9.1044 is update 20.0.9; the build is ignored):
exactly a carried version, between two carried ones, newer than all (treated as the newest,
with a warning) or older than all (unknown). The answer is None whenever the carried data
cannot tell: nothing is marked absent on a guess.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from integrations.threecx import spec

if TYPE_CHECKING:
    from integrations.threecx.operations.catalogue import Operation

#: The version `spec/swagger.yaml` describes (see spec/SOURCE.txt).
CURRENT = "20.0.10"
CURRENT_SOURCE = (
    "github.com/3cx/xapi-tutorial, swagger.yaml at ceb6d0de3cc4f828e5afc24f8aa415073dffc483 "
    "(carried whole as integrations/threecx/spec/swagger.yaml)"
)
VERSIONS_DIR = Path(spec.__file__).with_name("versions")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

Update = tuple[int, int, int]
OperationKey = tuple[str, str]  # ("GET", "/Users({Id})")

# "20.0.10", "20.0.10.870", "v20.0.9.1044": three numbers, an optional build, nothing else.
_VERSION = re.compile(r"[vV]?(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:\.\d{1,9})?")
_OPERATION = re.compile(rf"({'|'.join(METHODS)}) (/\S*)")
_SOURCE_KEYS = ("repository", "path", "commit")


@dataclass(frozen=True)
class SpecVersion:
    version: str  # "20.0.9"
    operation_count: int
    source: str  # where the operation list comes from (repository, path, commit)

    @property
    def update(self) -> Update:
        # Every carried version is checked to parse when its file is loaded.
        return version_update(self.version) or (0, 0, 0)


@dataclass(frozen=True)
class Availability:
    available: bool | None  # None: the carried data cannot tell
    note: str


@dataclass(frozen=True)
class VersionMatch:
    """How a server's version relates to the carried specs (for a page's banner)."""

    version: str  # as the server reported it, stripped
    lower: SpecVersion | None  # the newest carried version <= the server's update
    upper: SpecVersion | None  # the oldest carried version >= the server's update
    note: str

    @property
    def exact(self) -> bool:
        return self.lower is not None and self.lower == self.upper


def spec_versions() -> list[SpecVersion]:
    """The spec versions the project can tell apart, oldest first, with their sources."""
    return [entry.spec_version for entry in _carried()]


def version_update(version: str | None) -> Update | None:
    """(20, 0, 10) for "20.0.10.870" or "20.0.10"; None for anything else (empty, junk)."""
    match = _VERSION.fullmatch((version or "").strip())
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def version_match(version: str | None) -> VersionMatch:
    """Which carried versions bracket the server's `version`, with a note saying so."""
    reported = (version or "").strip()
    update = version_update(reported)
    carried = spec_versions()
    if update is None:
        if not reported:
            note = (
                "This connection's 3CX version is not known yet (test the connection to read "
                "it), so which operations it offers cannot be told."
            )
        else:
            note = (
                f"The version this PBX reported ({reported[:40]!r}) could not be read, so "
                "which operations it offers cannot be told."
            )
        return VersionMatch(reported, None, None, note)
    lower = next((v for v in reversed(carried) if v.update <= update), None)
    upper = next((v for v in carried if v.update >= update), None)
    if lower is None:
        note = (
            f"This PBX runs {reported}, older than any XAPI description this project carries "
            f"({_names(carried)}): which operations it offers cannot be told."
        )
    elif upper is None and update[:2] != lower.update[:2]:
        note = (
            f"This PBX runs {reported}, a later release than the {lower.update[0]}."
            f"{lower.update[1]} updates this project carries descriptions of: which "
            "operations it offers cannot be told."
        )
        lower = None
    elif upper is None:
        note = (
            f"This PBX runs {reported}, newer than the {lower.version} description this project "
            "carries: operations are shown as in "
            f"{lower.version}; newer updates may add or remove some."
        )
    elif lower == upper:
        note = f"This PBX runs {reported}: operations are shown as in {lower.version}."
    else:
        note = (
            f"This PBX runs {reported}, between the {lower.version} and {upper.version} "
            "descriptions this project carries: operations in both are offered, operations "
            "in neither are not, the rest cannot be told."
        )
    return VersionMatch(reported, lower, upper, note)


def operation_availability(operation: "Operation", version: str | None) -> Availability:
    """Whether a server running `version` offers `operation` (matched by method and path)."""
    match = version_match(version)
    key = (operation.method.upper(), operation.path)
    if match.lower is None:
        return Availability(None, match.note)
    in_lower = key in _operations(match.lower.version)
    if match.upper is None:
        if in_lower:
            return Availability(True, match.note)
        return Availability(None, f"Not in {match.lower.version}. {match.note}")
    in_upper = key in _operations(match.upper.version)
    runs = f"this PBX runs {match.version}"
    if match.exact:
        if in_lower:
            return Availability(True, f"In {match.lower.version} ({runs}).")
        return Availability(False, _absent_note(key, match.lower.version, runs))
    if in_lower and in_upper:
        return Availability(True, f"In {match.lower.version} and {match.upper.version} ({runs}).")
    if not in_lower and not in_upper:
        return Availability(
            False, f"Neither in {match.lower.version} nor in {match.upper.version} ({runs})."
        )
    where, missing = (
        (match.upper.version, match.lower.version)
        if in_upper
        else (match.lower.version, match.upper.version)
    )
    return Availability(
        None,
        f"In {where} but not in {missing}; {runs}, in between, so it cannot be told.",
    )


def versions_missing_operations(version: str | None) -> frozenset[OperationKey]:
    """The (method, path) pairs of the catalogue (the current spec) that a server running
    `version` does not offer, by `operation_availability`'s rules. Empty when nothing can be
    told (unknown or too old a version): ask `version_match` for the reason."""
    match = version_match(version)
    if match.lower is None:
        return frozenset()
    current = _operations(CURRENT)
    if match.upper is None:
        return frozenset(current - _operations(match.lower.version))
    return frozenset(current - _operations(match.lower.version) - _operations(match.upper.version))


# Helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Carried:
    spec_version: SpecVersion
    operations: frozenset[OperationKey]


@cache
def _carried() -> tuple[_Carried, ...]:
    entries = [_Carried(SpecVersion(CURRENT, len(_current()), CURRENT_SOURCE), _current())]
    entries.extend(_load(path) for path in sorted(VERSIONS_DIR.glob("*.json")))
    entries.sort(key=lambda entry: entry.spec_version.update)
    updates = [entry.spec_version.update for entry in entries]
    if len(set(updates)) != len(updates):
        raise ValueError(f"{VERSIONS_DIR}: two files describe the same version")
    return tuple(entries)


@cache
def _current() -> frozenset[OperationKey]:
    """The operations of spec/swagger.yaml, read from the spec rather than stored twice."""
    return frozenset(
        (method.upper(), path)
        for path, item in spec.load_spec()["paths"].items()
        for method in item
        if method.upper() in METHODS
    )


def _operations(version: str) -> frozenset[OperationKey]:
    return next(e.operations for e in _carried() if e.spec_version.version == version)


def _load(path: Path) -> _Carried:
    """One carried version's file, checked strictly: a bad file stops the console loudly
    rather than marking operations absent on wrong data."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object with version, source and operations")
    version = data.get("version")
    if not isinstance(version, str) or path.stem != version or version == CURRENT:
        raise ValueError(f"{path}: 'version' must be the file's name, a 3CX update like 20.0.9")
    if version_update(version) is None:
        raise ValueError(f"{path}: 'version' must be the file's name, a 3CX update like 20.0.9")
    operations: set[OperationKey] = set()
    for entry in data.get("operations", []):
        match = _OPERATION.fullmatch(entry) if isinstance(entry, str) else None
        if not match:
            raise ValueError(f"{path}: {entry!r} is not 'METHOD /path'")
        operations.add((match[1], match[2]))
    if len(operations) != data.get("operation_count") or not operations:
        raise ValueError(f"{path}: 'operation_count' does not match the operations listed")
    source = data.get("source", {})
    if not all(isinstance(source.get(k), str) and source[k] for k in _SOURCE_KEYS):
        raise ValueError(f"{path}: 'source' must give the {', '.join(_SOURCE_KEYS)}")
    described = f"{source['repository']}, {source['path']} at {source['commit']}"
    return _Carried(SpecVersion(version, len(operations), described), frozenset(operations))


def _absent_note(key: OperationKey, carried: str, runs: str) -> str:
    note = f"Not in {carried} ({runs})."
    if carried != CURRENT and key in _operations(CURRENT):
        note = f"Not in {carried} ({runs}): added in a later update (it is in {CURRENT})."
    other = _other_form(key, carried)
    if other:
        note += f" {carried} has it in another form: {other[0]} {other[1]}."
    return note


def _other_form(key: OperationKey, version: str) -> OperationKey | None:
    """The same function with other parameters in an older spec, e.g. GetAIResources() in
    20.0.9 against GetAIResources(provider={provider}) in 20.0.10."""
    method, path = key
    head, _, last = path.rpartition("/")
    if not last.startswith("Pbx.") or "(" not in last:
        return None
    stem = f"{head}/{last.split('(', 1)[0]}("
    return next(
        ((m, p) for m, p in sorted(_operations(version)) if m == method and p.startswith(stem)),
        None,
    )


def _names(carried: list[SpecVersion]) -> str:
    names = [v.version for v in carried]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
