"""A call's stored answer as people read and download it: pretty JSON, a foldable tree, the
headers that matter, and a collection as a table for CSV.

The stored answer already has its secrets masked (services mask it before saving), so
nothing here needs to know which properties are secret.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from dashboard.console.models import XapiCall
from dashboard.exports.tables import ExportColumn, ExportTable
from integrations.threecx.operations.requests import PreparedRequest

#: The tree shows at most this many values (objects, arrays and leaves together); past it, a
#: line says how many were left out and the download has everything.
TREE_MAX_NODES = 2_000
#: Deeper than this, a value is shown as one line of JSON instead of nested folds.
TREE_MAX_DEPTH = 32
#: Levels of the tree open at first: the answer and its first level of items.
TREE_OPEN_LEVELS = 2
#: The raw JSON shown on the page stops after this many characters (the download has it all).
PRETTY_MAX_CHARS = 1_000_000
#: A leaf's text is cut at this length in the tree.
LEAF_MAX_CHARS = 2_000
#: In a collection's CSV, every item that is not an object goes into one column of this name.
VALUE_COLUMN = "value"
#: The headers shown, in this order, when the answer had them.
HEADER_ORDER = (
    "Content-Type",
    "Content-Length",
    "OData-Version",
    "Location",
    "Retry-After",
    "X-3CX-Version",
)


@dataclass(frozen=True)
class PrettyJson:
    text: str
    truncated: bool


@dataclass(frozen=True)
class AnswerView:
    """A finished call's answer, ready for its fragment."""

    headers: list[tuple[str, str]]
    #: The answer's JSON as a foldable tree and as text; None when no answer was kept.
    tree: SafeString | None
    pretty: PrettyJson | None
    #: How many items a collection answer has (None: not a collection).
    items: int | None


def answer_view(call: XapiCall) -> AnswerView:
    if call.answer is None:
        return AnswerView(answer_headers(call), tree=None, pretty=None, items=None)
    items = answer_items(call)
    return AnswerView(
        answer_headers(call),
        tree=answer_tree(call.answer),
        pretty=answer_pretty(call),
        items=len(items) if items is not None else None,
    )


def call_request_url(call: XapiCall) -> str:
    """The full URL the call was sent to, as the confirmation showed it."""
    prepared = PreparedRequest(
        operation_id=call.operation_id,
        method=call.method,
        path=call.path,
        query=call.query,
        body=None,
        is_read=call.is_read,
    )
    return prepared.url(call.connection.base_url)


def answer_pretty(call: XapiCall) -> PrettyJson:
    """The answer as indented JSON, cut after PRETTY_MAX_CHARS characters."""
    text = json.dumps(call.answer, indent=2, ensure_ascii=False)
    if len(text) <= PRETTY_MAX_CHARS:
        return PrettyJson(text, truncated=False)
    return PrettyJson(text[:PRETTY_MAX_CHARS], truncated=True)


def answer_tree(data: Any) -> SafeString:
    """`data` as nested <details> (folded below TREE_OPEN_LEVELS), at most TREE_MAX_NODES
    values; keyboard users open and close them like any disclosure."""
    tree = _Tree()
    parts = ['<div class="json-tree">']
    tree.render(data, key=None, level=0, out=parts)
    if tree.left_out:
        parts.append(
            f'<p class="muted small">{tree.left_out:,} more value'
            f"{'s' if tree.left_out != 1 else ''} not shown here: download the JSON to see "
            "everything.</p>"
        )
    parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped above


def answer_items(call: XapiCall) -> list[Any] | None:
    """The items of a collection answer ({"value": [...]}), or None for any other answer."""
    answer = call.answer
    if isinstance(answer, dict) and isinstance(answer.get("value"), list):
        return answer["value"]
    return None


def answer_table(call: XapiCall) -> ExportTable | None:
    """A collection answer as a table for CSV: one row per item, one column per property
    any item has (in the order first met), nested values as JSON text. The CSV writer
    neutralises cells a spreadsheet would run as formulas. None if not a collection."""
    items = answer_items(call)
    if items is None:
        return None
    columns = _columns(items)
    return ExportTable(
        title=f"{call.operation_id} on {call.connection.name}",
        slug=call_filename(call),
        columns=[ExportColumn(header=name, value=_cell(name)) for name in columns],
        rows=lambda: iter(items),
        count=lambda: len(items),
    )


def answer_headers(call: XapiCall) -> list[tuple[str, str]]:
    """The answer's headers that matter, in a steady order."""
    by_name = {name.lower(): (name, value) for name, value in call.response_headers.items()}
    known = [by_name.pop(name.lower()) for name in HEADER_ORDER if name.lower() in by_name]
    return known + sorted(by_name.values())


def call_filename(call: XapiCall) -> str:
    """A download's name without extension: connection, operation and when, in ASCII."""
    stamp = call.created_at.strftime("%Y%m%d-%H%M%S")
    return f"{slugify(call.connection.name) or 'pbx'}-{_ascii(call.operation_id)}-{stamp}"


# --- helpers ---------------------------------------------------------------------------------


def _columns(items: list[Any]) -> list[str]:
    names: dict[str, None] = {}
    for item in items:
        if isinstance(item, dict):
            names.update(dict.fromkeys(str(name) for name in item))
        else:
            names[VALUE_COLUMN] = None
    return list(names)


def _cell(name: str) -> Callable[[Any], Any]:
    def value(item: Any) -> Any:
        if isinstance(item, dict):
            return item.get(name)
        return item if name == VALUE_COLUMN else None

    return value


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "call"


class _Tree:
    def __init__(self) -> None:
        self.shown = 0
        self.left_out = 0

    def render(self, value: Any, *, key: str | None, level: int, out: list[str]) -> None:
        if self.shown >= TREE_MAX_NODES:
            self.left_out += _count(value)
            return
        self.shown += 1
        label = f'<span class="json-key">{escape(key)}</span>: ' if key is not None else ""
        if isinstance(value, (dict, list)) and value and level < TREE_MAX_DEPTH:
            self._branch(value, label=label, level=level, out=out)
        else:
            out.append(f'<div class="json-leaf">{label}{_leaf(value)}</div>')

    def _branch(self, value: dict | list, *, label: str, level: int, out: list[str]) -> None:
        if isinstance(value, dict):
            summary = f"{{…}} {len(value):,} propert{'ies' if len(value) != 1 else 'y'}"
            children = [(str(name), child) for name, child in value.items()]
        else:
            summary = f"[…] {len(value):,} item{'s' if len(value) != 1 else ''}"
            children = [(str(index), child) for index, child in enumerate(value)]
        opened = " open" if level < TREE_OPEN_LEVELS else ""
        out.append(
            f'<details class="json-branch"{opened}><summary>{label}'
            f'<span class="json-summary">{summary}</span></summary><div class="json-children">'
        )
        for name, child in children:
            self.render(child, key=name, level=level + 1, out=out)
        out.append("</div></details>")


def _leaf(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= LEAF_MAX_CHARS else value[:LEAF_MAX_CHARS] + "…"
        return f'<span class="json-string">"{escape(text)}"</span>'
    if value is None:
        return '<span class="json-null">null</span>'
    if isinstance(value, bool):
        return f'<span class="json-boolean">{"true" if value else "false"}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="json-number">{escape(json.dumps(value))}</span>'
    text = json.dumps(value, ensure_ascii=False)  # {} and [], or a value too deep to fold
    if len(text) > LEAF_MAX_CHARS:
        text = text[:LEAF_MAX_CHARS] + "…"
    return f'<span class="json-other">{escape(text)}</span>'


def _count(value: Any) -> int:
    """How many values `value` is, itself included, without recursing (deep answers)."""
    total, pending = 0, [value]
    while pending:
        current = pending.pop()
        total += 1
        if isinstance(current, dict):
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return total
