"""Injected failures: what a flaky network or an overloaded 3CX does to a client.

A `Fault` names which requests it hits (a regex searched in the path, optionally one method),
what happens to them and how often. `FaultSet.decide` is called once per request by the WSGI
app, from many server threads at once, so counting happens under a lock.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

#: Kinds that change a normal answer rather than replace it: any number of them apply at once.
SHAPING_KINDS = ("latency", "page_size", "odata_count")
FAULT_KINDS = (
    *SHAPING_KINDS,
    "status",
    "malformed_json",
    "truncated",
    "reset",
    "revoke_token",
)


@dataclass
class Fault:
    """One kind of failure for the requests whose path matches `match` (re.search).

    kind: latency (sleep `delay` seconds, then answer normally), status (answer `status` with
    an OData error body, and Retry-After when `retry_after` is set), malformed_json (200 with
    a body that is not JSON), truncated (200 whose Content-Length promises more than is sent,
    then the connection closes), reset (the connection closes without an answer),
    revoke_token (every token is revoked, then the request is refused with 401),
    page_size (collection answers hold at most `max_page_size` rows, whatever `$top` asks),
    odata_count (`@odata.count`, when asked for, says `odata_count` instead of the true
    count: any JSON value, e.g. -1, 2**63 - 1 or "12"; null leaves it out).
    times: how many matching requests are hit (None: all); skip: let the first N through.
    """

    match: str
    method: str | None = None
    kind: str = "status"
    status: int = 500
    retry_after: int | float | None = None
    times: int | None = None
    skip: int = 0
    delay: float = 0.0
    max_page_size: int | None = None
    odata_count: Any = None
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")
        if not 100 <= int(self.status) <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be None or >= 0")
        if self.skip < 0 or self.delay < 0:
            raise ValueError("skip and delay must be >= 0")
        cap = self.max_page_size
        if self.kind == "page_size" and (
            not isinstance(cap, int) or isinstance(cap, bool) or cap < 1
        ):
            raise ValueError("a page_size fault needs max_page_size >= 1")
        try:
            self._pattern = re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"match is not a valid regular expression: {exc}") from exc
        if self.method is not None:
            self.method = self.method.upper()

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """A fault from the control API's JSON body; ValueError when it does not fit."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        allowed = {
            "match",
            "method",
            "kind",
            "status",
            "retry_after",
            "times",
            "skip",
            "delay",
            "max_page_size",
            "odata_count",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        if "match" not in data:
            raise ValueError("a fault needs 'match' (a regular expression for the path)")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern", None)
        return data

    def applies_to(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self._pattern.search(path) is not None


@dataclass
class Decision:
    """What the faults decided for one request: sleep first, then maybe fail; a collection
    answer keeps at most `max_page_size` rows and, with `count_fault`, that fault's count."""

    delay: float = 0.0
    fault: Fault | None = None
    max_page_size: int | None = None
    count_fault: Fault | None = None

    def page_cap(self, configured: int | None) -> int | None:
        """The smaller of the configured cap and this request's (None: no cap)."""
        caps = [cap for cap in (configured, self.max_page_size) if cap is not None]
        return min(caps) if caps else None


@dataclass
class _Armed:
    fault: Fault
    seen: int = 0
    fired: int = 0


class FaultSet:
    """The faults of one simulator; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._armed.append(_Armed(fault))
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._armed = [armed for armed in self._armed if armed.fault is not fault]

    def clear(self) -> None:
        with self._lock:
            self._armed = []

    def fired(self, fault: Fault) -> int:
        """How many requests `fault` has hit so far."""
        with self._lock:
            return sum(armed.fired for armed in self._armed if armed.fault is fault)

    def __iter__(self):
        with self._lock:
            return iter([armed.fault for armed in self._armed])

    def __len__(self) -> int:
        with self._lock:
            return len(self._armed)

    def decide(self, method: str, path: str) -> Decision:
        """Count this request against every matching fault and say what happens to it.

        Latency faults add up, page caps take the smallest, the last count fault wins; the
        first failing fault that fires wins. A fault whose turn has not come (skip) or is
        used up (times) lets the request through.
        """
        decision = Decision()
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if not fault.applies_to(method, path):
                    continue
                if fault.kind not in SHAPING_KINDS and decision.fault is not None:
                    continue
                armed.seen += 1
                if armed.seen <= fault.skip:
                    continue
                if fault.times is not None and armed.fired >= fault.times:
                    continue
                armed.fired += 1
                if fault.kind == "latency":
                    decision.delay += fault.delay
                elif fault.kind == "page_size":
                    decision.max_page_size = decision.page_cap(fault.max_page_size)
                elif fault.kind == "odata_count":
                    decision.count_fault = fault
                else:
                    decision.fault = fault
        return decision
