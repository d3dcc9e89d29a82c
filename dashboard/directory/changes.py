"""What changed in an entry between two syncs, field by field (stored as SyncChange rows)."""

from typing import Any


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{"Field": [before, after]} for every top-level field whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
