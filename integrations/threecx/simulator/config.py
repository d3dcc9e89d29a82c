"""How big the simulated phone system is and how it behaves."""

from __future__ import annotations

import re
from dataclasses import dataclass

from integrations.threecx.spec import load_spec

_VERSION = re.compile(r"\d+\.\d+\.\d+(\.\d+)?")
# expires_in switched from minutes to seconds in V20 Update 9.
SECONDS_SINCE = (20, 0, 9)
#: What `@odata.count` says under `odata_count`: the true count, none, or a broken server's.
ODATA_COUNTS = {"exact": None, "missing": None, "negative": -4548194217860088, "huge": 2**63 - 1}
#: The `SimulatorConfig` fields `Simulator.reconfigure` (and POST /_simulator/config) may change
#: while it runs: they change answers, not the generated data.
RUNTIME_FIELDS = ("version", "token_lifetime", "max_page_size", "odata_count", "missing")


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that decides what the simulator answers; the same config gives the same data.

    version: what SystemStatus.Version and the X-3CX-Version header say ("20.0.10" or a
    four-part build such as "20.0.10.1060"); before 20.0.9 expires_in counts minutes.
    token_lifetime: seconds an access token lives.
    control_api: serve the unauthenticated /_simulator/ test API (mutations, faults, stats).
    max_page_size: the most rows any collection answer holds, whatever `$top` asks (None: as
    many as asked), like a PBX that caps its pages.
    odata_count: what `@odata.count` says when `$count=true`: "exact", "missing" (left out),
    "negative" (-4548194217860088) or "huge" (2**63 - 1, the int64 maximum).
    edge_ids: also serve users and contacts whose Ids sit at the edges of the spec's int32 Id:
    -2147483648, -1, 0 and 2147483647 (see `EDGE_IDS` in store.py).
    null_key_fields: also serve a user whose Number is null and contacts whose FirstName,
    LastName and CompanyName are null (one with a phone number, one with nothing at all).
    missing: entity sets, singletons or functions this PBX lacks, as an older 3CX update does:
    "InboundRules", "LicenseStatus", "Backups/Pbx.GetBackupSettings"... Every path under them
    answers 404 like any unknown path, and the service document leaves them out.
    """

    seed: int = 1
    users: int = 50
    contacts: int = 200
    groups: int = 5
    queues: int = 5
    ring_groups: int = 5
    receptionists: int = 3
    trunks: int = 3
    parkings: int = 2
    version: str = "20.0.10"
    client_id: str = "900"
    client_secret: str = "simulator-secret"  # noqa: S105 - a well-known test value
    token_lifetime: int = 3600
    fqdn: str = "pbx.simulator.test"
    control_api: bool = True
    max_page_size: int | None = None
    odata_count: str = "exact"
    edge_ids: bool = False
    null_key_fields: bool = False
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        counts = {
            "users": self.users,
            "contacts": self.contacts,
            "queues": self.queues,
            "ring_groups": self.ring_groups,
            "receptionists": self.receptionists,
            "trunks": self.trunks,
            "parkings": self.parkings,
        }
        for name, value in counts.items():
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"SimulatorConfig.{name} must be an integer >= 0, not {value!r}")
        if not isinstance(self.groups, int) or self.groups < 1:
            raise ValueError("SimulatorConfig.groups must be >= 1 (the DEFAULT group)")
        if max(self.queues, self.ring_groups, self.receptionists) > 99:
            raise ValueError("at most 99 queues, ring groups and receptionists each")
        if not isinstance(self.version, str) or not _VERSION.fullmatch(self.version):
            raise ValueError(
                f"SimulatorConfig.version must look like 20.0.10, not {self.version!r}"
            )
        if not isinstance(self.token_lifetime, int) or self.token_lifetime <= 0:
            raise ValueError("SimulatorConfig.token_lifetime must be an integer > 0 (seconds)")
        if not self.client_id or not self.client_secret:
            raise ValueError("SimulatorConfig needs a client_id and a client_secret")
        cap = self.max_page_size
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
            raise ValueError(f"SimulatorConfig.max_page_size must be None or >= 1, not {cap!r}")
        object.__setattr__(self, "missing", _missing(self.missing))
        if self.odata_count not in ODATA_COUNTS:
            raise ValueError(
                f"SimulatorConfig.odata_count must be one of {', '.join(ODATA_COUNTS)}, "
                f"not {self.odata_count!r}"
            )

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    @property
    def expires_in(self) -> int:
        """The token endpoint's expires_in: minutes before 20.0.9, seconds from then on
        (a four-part build such as 20.0.8.1109 counts by its first three parts)."""
        if self.version_tuple[:3] < SECONDS_SINCE:
            return max(1, self.token_lifetime // 60)
        return self.token_lifetime

    def counted(self, count: int) -> int | None:
        """The `@odata.count` to answer for `count` matching rows (None: leave it out)."""
        if self.odata_count == "exact":
            return count
        return ODATA_COUNTS[self.odata_count]


def _missing(names: object) -> tuple[str, ...]:
    """`names` as a tuple of path heads the spec knows ("InboundRules", "LicenseStatus",
    "Backups/Pbx.GetBackupSettings"); ValueError for a typo, which would silently miss."""
    if isinstance(names, str) or not isinstance(names, list | tuple):
        raise ValueError("SimulatorConfig.missing must be a list of entity set or function names")
    paths = load_spec()["paths"]
    result = []
    for name in names:
        text = name.strip().strip("/") if isinstance(name, str) else ""
        known = any(
            path == f"/{text}" or path.startswith((f"/{text}/", f"/{text}(")) for path in paths
        )
        if not text or not known:
            raise ValueError(f"SimulatorConfig.missing: the spec has no path /{text or name!r}")
        result.append(text)
    return tuple(result)
