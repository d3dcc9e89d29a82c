"""A sync run's progress per kind: written by the sync engine, read by the progress fragment.

The total comes from the server's `@odata.count`, which a misbehaving server sends negative,
absurdly large or not at all. Only a total that could be true is kept; without one, progress
is "N fetched", never a made-up share.
"""

from dataclasses import dataclass
from typing import Any

from dashboard.directory.models import SyncRun

#: No 3CX server holds more entries of one kind than this; a larger count is nonsense.
MAX_PLAUSIBLE_TOTAL = 10_000_000


def progress_entry(
    *, fetched: int, total: int | None, done: bool, unavailable: bool = False
) -> dict[str, Any]:
    """What the run row keeps for one kind: {"fetched": 120, "total": 250, "done": False},
    plus "unavailable": True for a kind this server's version does not offer."""
    entry = {"fetched": fetched, "total": plausible_total(total, fetched=fetched), "done": done}
    if unavailable:
        entry["unavailable"] = True
    return entry


def plausible_total(total: Any, *, fetched: int) -> int | None:
    """`total` if it is a whole number of entries no smaller than what has been received and
    no larger than any server holds; otherwise None (unknown)."""
    if not isinstance(total, int) or isinstance(total, bool):
        return None
    if total < max(fetched, 0) or total > MAX_PLAUSIBLE_TOTAL:
        return None
    return total


@dataclass(frozen=True)
class ProgressRow:
    kind: str
    fetched: int
    #: None when the server gave no believable total.
    total: int | None
    #: 0-100; None while entries arrive without a known total (the bar is indeterminate).
    percent: int | None
    done: bool
    #: This server's version does not offer the kind: nothing was read, entries kept.
    unavailable: bool = False


def sync_run_progress_rows(run: SyncRun) -> tuple[list[ProgressRow], int | None]:
    """The run's rows in sync order and the overall percentage (None if it cannot be told).

    Rows written before totals were checked are checked again here, so an old run's absurd
    total is not shown either."""
    rows = []
    for kind, entry in (run.progress or {}).items():
        if not isinstance(entry, dict):
            continue
        fetched = entry.get("fetched")
        fetched = fetched if isinstance(fetched, int) and fetched >= 0 else 0
        done = bool(entry.get("done"))
        total = plausible_total(entry.get("total"), fetched=fetched)
        if done:
            percent: int | None = 100
        elif total:
            percent = min(99, fetched * 100 // total)
        else:
            percent = None if fetched else 0
        unavailable = entry.get("unavailable") is True
        rows.append(ProgressRow(kind, fetched, total, percent, done, unavailable))
    if not rows:
        return rows, 0
    if any(row.percent is None for row in rows):
        return rows, None  # one kind's share is unknown, so the whole one is too
    return rows, sum(row.percent or 0 for row in rows) // len(rows)
