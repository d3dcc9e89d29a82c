"""SQL fragments the set-based rules build their findings with, for PostgreSQL and SQLite.

Labels, summaries and details of the rules that find many subjects are made by the database
(see `dashboard.reports.staging`); these fragments say the same as their Python
counterparts in `dashboard.reports.rules.base` (a test holds them equal).
"""

import sys

from django.db import connection as database

from dashboard.reports.rules.base import ISOLATE, ISOLATE_END, NAME_MAX

#: Every character Python's str.strip() removes: labels strip names as Python does.
WHITESPACE = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
#: Room for an entry's number in a label (entry_label's number[:40]).
NUMBER_MAX = 40


def postgres() -> bool:
    return database.vendor == "postgresql"


def trimmed(expression: str) -> tuple[str, list[str]]:
    """`expression` without leading and trailing whitespace (as str.strip())."""
    return f"{'BTRIM' if postgres() else 'TRIM'}({expression}, %s)", [WHITESPACE]


def entry_label(
    noun: str, number: str, texts: list[str], external_id: str
) -> tuple[str, list[str]]:
    """`rules.base.entry_label` as SQL over column expressions: `noun` (the kind's name),
    `number`, `texts` (name, then what names an entry without one: company, phones) and
    `external_id`. Returns SQL and its parameters."""
    shown_parts, shown_params = [], []
    for text in texts:
        trimmed_sql, trimmed_params = trimmed(text)
        shown_parts.append(f"NULLIF({trimmed_sql}, '')")
        shown_params += trimmed_params
    shown = f"COALESCE({', '.join(shown_parts)})" if len(shown_parts) > 1 else shown_parts[0]
    number = f"COALESCE({number}, '')"
    sql = (
        f"CASE WHEN {shown} IS NULL AND {number} = '' "
        f"THEN {noun} || ' #' || CAST({external_id} AS TEXT) "
        f"ELSE {noun} || CASE WHEN {number} <> '' THEN ' ' || SUBSTR({number}, 1, {NUMBER_MAX}) "
        f"ELSE '' END || CASE WHEN {shown} IS NOT NULL "
        f"THEN ' ' || %s || SUBSTR({shown}, 1, {NAME_MAX}) || %s ELSE '' END END"
    )
    # In the order the placeholders appear: `shown` twice, an isolate, `shown`, the other.
    params = [*shown_params, *shown_params, ISOLATE, *shown_params, ISOLATE_END]
    return sql, params


def literal(text: str) -> str:
    """A constant of the code (never input) as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def isolated(expression: str) -> tuple[str, list[str]]:
    """`rules.base.isolated` for a text that is never empty."""
    return f"%s || {expression} || %s", [ISOLATE, ISOLATE_END]


def json_object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of (key, SQL expression) pairs, keys in the given order (keys are
    code's constants, never input)."""
    items = ", ".join(f"'{key}', {expression}" for key, expression in pairs)
    return f"{'jsonb_build_object' if postgres() else 'json_object'}({items})"


def json_array_by_place(expression: str, place: str, most: int) -> str:
    """In an aggregate over a group whose rows are numbered 1.. by `place` (at most `most`),
    the JSON array of `expression` (JSON) in place order.

    SQLite before 3.44 cannot order inside an aggregate, so there the array is spelled out
    place by place (`most` is small)."""
    if postgres():
        return f"jsonb_agg({expression} ORDER BY {place})"
    first = f"MAX(CASE WHEN {place} = 1 THEN {expression} END)"
    rest = " || ".join(
        f"COALESCE(',' || MAX(CASE WHEN {place} = {n} THEN {expression} END), '')"
        for n in range(2, most + 1)
    )
    return f"json('[' || {first} || {rest} || ']')"


def thousands(expression: str) -> str:
    """An integer with thousands separators ("1,234"), as f"{n:,}"."""
    if postgres():
        return f"TO_CHAR({expression}, 'FM999,999,999,999,999')"
    return f"PRINTF('%%,d', {expression})"
