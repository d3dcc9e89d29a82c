"""An operation's documentation as its page shows it: parameters, request body and answers,
from the spec.

Schema outlines run to hundreds of rows (a user has some 150 properties, nested groups and
rights below them: 21,000 rows over the 601 operations), so their table rows are built here
rather than in a template loop, which is some fifty times slower, and kept once built: the
spec never changes while the process runs.
"""

import threading
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from integrations.threecx.operations.catalogue import Operation, Parameter
from integrations.threecx.operations.schemas import OutlineRow, schema_outline, type_label

#: How the page names an operation's kind.
KIND_LABELS = {
    "list": "List",
    "read": "Read",
    "create": "Create",
    "update": "Update",
    "delete": "Delete",
    "function": "Function",
    "functionImport": "Function",
    "action": "Action",
    "actionImport": "Action",
}
#: What the OData system query options do, said more helpfully than the spec's descriptions.
ODATA_HELP = {
    "$filter": "Only the items matching an OData expression, e.g. Number eq '100' or "
    "startswith(LastName,'Sm'). Text goes in single quotes.",
    "$select": "The properties to answer, comma-separated, e.g. Id,Number,FirstName.",
    "$expand": "Related entities to include, comma-separated, e.g. Groups.",
    "$orderby": "Properties to sort by, comma-separated, each optionally followed by desc, "
    "e.g. LastName desc.",
    "$top": "At most this many items.",
    "$skip": "Skip this many items first (with $top: a page further on).",
    "$search": "Only the items containing this text.",
    "$count": "true: the answer also says how many items match (@odata.count).",
}
#: Up to this many allowed values are listed inline; more are listed folded.
FEW_VALUES = 12
#: The levels of a schema's outline shown: deeper nesting is one row with its type.
OUTLINE_DEPTH = 3
#: An outline of more rows than this is shown folded.
LONG_OUTLINE = 25


@dataclass(frozen=True)
class ParameterDoc:
    parameter: Parameter
    type: str
    help: str
    #: The values allowed (an enum, or the items of a list such as $select), if the spec says.
    values: tuple[str, ...]

    @property
    def values_html(self) -> SafeString:
        return values_html(self.values)


@dataclass(frozen=True)
class Outline:
    """A schema as table rows, and how many (a long one is shown folded)."""

    rows: SafeString
    count: int
    #: The schema's type in a few words: "Pbx.User", "object", "array of Pbx.Group".
    type: str

    @property
    def is_long(self) -> bool:
        return self.count > LONG_OUTLINE


@dataclass(frozen=True)
class ResponseDoc:
    status: str
    outline: Outline | None  # None: the answer has no body


def parameter_docs(operation: Operation) -> list[ParameterDoc]:
    return [_parameter_doc(parameter) for parameter in operation.parameters]


def body_outline(operation: Operation) -> Outline | None:
    """The request body's outline (None: the operation takes no body)."""
    return _outline(operation.body_schema) if operation.body_schema else None


def response_docs(operation: Operation) -> list[ResponseDoc]:
    """The answers the spec describes, by status."""
    return [
        ResponseDoc(status, _outline(schema) if schema else None)
        for status, schema in sorted(operation.responses.items())
    ]


def values_html(values: tuple[str, ...]) -> SafeString:
    """Allowed values: inline when few, folded when many ("" for none)."""
    if not values:
        return mark_safe("")
    codes = ", ".join(f"<code>{escape(value)}</code>" for value in values)
    if len(values) <= FEW_VALUES:
        return mark_safe(f'<span class="console-values">One of {codes}.</span>')  # noqa: S308
    return mark_safe(  # noqa: S308 - the values are escaped
        f'<details class="console-values"><summary>{len(values)} allowed values</summary>'
        f"{codes}</details>"
    )


# --- helpers ---------------------------------------------------------------------------------

_outlines: dict[int, tuple[dict, Outline]] = {}
_outlines_lock = threading.Lock()


def _parameter_doc(parameter: Parameter) -> ParameterDoc:
    schema = parameter.schema
    values = schema.get("enum") or schema.get("items", {}).get("enum") or ()
    help_text = ODATA_HELP.get(parameter.name, "") if parameter.odata else ""
    return ParameterDoc(
        parameter=parameter,
        type=_parameter_type(parameter),
        help=help_text or parameter.description,
        values=tuple(str(value) for value in values),
    )


def _parameter_type(parameter: Parameter) -> str:
    if parameter.kind == "list":
        return "comma-separated list"
    if parameter.kind == "odata-bool":
        return "true or false"
    return type_label(parameter.schema)


def _outline(schema: dict) -> Outline:
    """Built once per schema object, kept with it so that its identity cannot be reused."""
    with _outlines_lock:
        entry = _outlines.get(id(schema))
    if entry is None or entry[0] is not schema:
        rows = schema_outline(schema, depth=OUTLINE_DEPTH)
        html = mark_safe("".join(_row_html(row) for row in rows))  # noqa: S308 - escaped
        entry = (schema, Outline(html, count=len(rows), type=type_label(schema)))
        with _outlines_lock:
            _outlines[id(schema)] = entry
    return entry[1]


def _row_html(row: OutlineRow) -> str:
    notes = []
    if row.required:
        notes.append('<span class="required-mark">required</span>')
    if row.read_only:
        notes.append('<span class="muted">read-only</span>')
    if row.description:
        notes.append(escape(row.description))
    values = values_html(tuple(str(value) for value in row.enum if value is not None))
    nullable = ' <span class="muted">or null</span>' if row.nullable else ""
    return (
        f'<tr><th scope="row" class="depth-{min(row.depth, 4)}">'
        f"<code>{escape(row.path) or '(the value)'}</code></th>"
        f"<td>{escape(row.type)}{nullable}</td><td>{' '.join(notes)}{values}</td></tr>"
    )
