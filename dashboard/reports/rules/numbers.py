"""5. Phone numbers that do not parse or are not valid; contacts sharing a number."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection as database
from django.db.models import CharField, F, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from dashboard.directory.models import EntryKind
from dashboard.reports import sql
from dashboard.reports.models import PhoneNumberVerdict, Severity
from dashboard.reports.phones import (
    RAW_MAX,
    phone_verdicts_add,
    phone_verdicts_fill_sql,
    union_sql,
)
from dashboard.reports.rules.base import AuditContext, Hit, Rule, kind_noun


@dataclass(frozen=True)
class Number:
    """A number the rule checks: the kind of entry that has it, its name in findings, what
    holds it in the queries, and how to read it from an entry the sync writes (its typed
    columns and the synced item), for `number_texts`."""

    kind: str
    field: str
    expression: Any
    read: Callable[[dict[str, Any], dict[str, Any]], Any]


#: Every number the rule checks. Contacts' Home number is read from the synced item itself
#: (it has no column).
NUMBERS = (
    Number(EntryKind.USER, "mobile", F("mobile"), lambda columns, item: columns.get("mobile")),
    Number(EntryKind.USER, "caller ID", F("phone"), lambda columns, item: columns.get("phone")),
    Number(EntryKind.CONTACT, "mobile", F("mobile"), lambda columns, item: columns.get("mobile")),
    Number(EntryKind.CONTACT, "business", F("phone"), lambda columns, item: columns.get("phone")),
    # Cast: filters on the bare key transform would compare JSON values, not text. A Home
    # that is not a JSON string is left to the audit (the text the database makes of it).
    Number(
        EntryKind.CONTACT,
        "home",
        Cast(KT("data__Home"), output_field=CharField()),
        lambda columns, item: item.get("Home") if isinstance(item.get("Home"), str) else None,
    ),
)
TOO_LONG = "too long to be a phone number"
CONTACTS_LISTED = 20
#: Numbers of each kind looked at to tell whether the connection's numbers were judged.
SAMPLE = 100


def number_texts(kind: str, entries: Iterable) -> Iterator[str]:
    """The texts of the numbers this module reads among `entries` of `kind` as a sync writes
    them (each with `columns` and `data`, the synced item): the sync has them judged while
    it runs (`phones.PhoneVerdictJudge`)."""
    reads = [number.read for number in NUMBERS if number.kind == kind]
    for entry in entries if reads else ():
        for read in reads:
            text = read(entry.columns, entry.data)
            if text:
                yield text


def invalid(ctx: AuditContext) -> Iterator[Hit]:
    """Staged as one statement (a large messy phonebook has tens of thousands of them): every
    number joined with its text's verdict, the invalid ones (or too long to be a number)
    become findings, labels and summaries made by the database."""
    # The sync judges the numbers it writes, so they normally all have a verdict: the few
    # without one (the sync's helper failed, entries written otherwise) are staged as
    # pending, parsed, and staged again. When a sample finds numbers without one (the phone
    # region changed, or the sync did not judge them), every text is judged first: one
    # statement finds the missing ones, rather than staging everything twice.
    if "numbers.filled" not in ctx.memo and _verdicts_missing(ctx):
        _verdicts_fill(ctx)
    sql, params = _invalid_sql(ctx)
    ctx.hits_select(sql, params)
    pending = ctx.hits_pending()
    if pending:
        phone_verdicts_add(region=ctx.region, texts=pending)
        ctx.hits_discard()
        ctx.hits_select(sql, params)
    ctx.memo["numbers.filled"] = True  # every number this module reads has a verdict now
    return iter(())


def _invalid_sql(ctx: AuditContext) -> tuple[str, list]:
    numbers, numbers_params = _numbers_sql(ctx)
    # An entry without a name is named by its company, else its numbers (as entry_label).
    label, label_params = sql.entry_label(
        "t.noun", "t.number", ["t.name", "t.company", "t.phone", "t.mobile"], "t.external_id"
    )
    number, number_params = sql.isolated("raw")
    details = sql.json_object([("field", "field"), ("number", "raw"), ("problem", "problem")])
    verdict = PhoneNumberVerdict._meta.db_table
    query = f"""
        SELECT kind AS subject_kind, external_id AS subject_external_id,
            kind || ':' || CAST(external_id AS TEXT) || ':' || field AS subject_key,
            label AS subject_label,
            label || ': ' || field || ' “' || {number} || '”: ' || problem AS summary,
            {details} AS details, NULL AS severity, pending
        FROM (
            SELECT t.kind, t.external_id, t.field, t.raw, {label} AS label,
                COALESCE(v.problem, %s) AS problem,
                CASE WHEN v.raw IS NULL AND LENGTH(t.raw) <= %s THEN t.raw END AS pending
            FROM ({numbers}) t
            LEFT JOIN {verdict} v ON v.region = %s AND v.raw = t.raw
            WHERE v.valid = %s OR v.raw IS NULL
        ) found
    """  # noqa: S608 - table names from the models, values as parameters
    params = [
        *number_params,
        *label_params,
        TOO_LONG,
        RAW_MAX,
        *numbers_params,
        ctx.region,
        False,
    ]
    return query, params


def _numbers_sql(ctx: AuditContext, *, sample: int | None = None) -> tuple[str, list]:
    """Every non-empty number NUMBERS names, one row each ("raw", its "field" and the
    entry's kind, noun, external_id, number, name, company, phone and mobile), as SQL; with
    `sample`, those of the first `sample` entries of each kind only.

    One scan per kind, each entry's numbers side by side, turned into rows by a join with
    the slots 0..n (where three scans of 100,000 contacts, one per number, cost three times
    as much)."""
    kinds = list(dict.fromkeys(number.kind for number in NUMBERS))
    slots = {
        kind: [(number.field, number.expression) for number in NUMBERS if number.kind == kind]
        for kind in kinds
    }
    width = max(len(numbers) for numbers in slots.values())
    columns = ("kind", "noun", "external_id", "number", "name", "company", "phone", "mobile")
    entries = [
        ctx.entries(kind).annotate(
            noun=Value(kind_noun(kind)),
            **{
                f"slot{i}": slots[kind][i][1] if i < len(slots[kind]) else Value("")
                for i in range(width)
            },
        )
        for kind in kinds
    ]
    names = (*columns, *(f"slot{i}" for i in range(width)))
    if sample is None:
        union, params = union_sql(entries, names)
    else:
        parts, params = [], []
        for i, queryset in enumerate(entries):
            part, part_params = queryset.order_by().values(*names)[:sample].query.sql_with_params()
            # A LIMIT inside UNION ALL takes a subquery (SQL from the ORM).
            parts.append(f"SELECT * FROM ({part}) sampled{i}")  # noqa: S608
            params += part_params
        union = " UNION ALL ".join(parts)
    raw = "CASE s.n " + " ".join(f"WHEN {i} THEN e.slot{i}" for i in range(width)) + " END"
    field_cases, field_params = [], []
    for kind in kinds:
        for i, (field, _) in enumerate(slots[kind]):
            field_cases.append(f"WHEN e.kind = %s AND s.n = {i} THEN %s")
            field_params += [kind.value, field]
    numbered = " UNION ALL ".join(f"SELECT {i} AS n" for i in range(width))
    selected = ", ".join(f"e.{name}" for name in columns)
    query = f"""
        SELECT * FROM (
            SELECT {selected}, CASE {" ".join(field_cases)} END AS field, {raw} AS raw
            FROM ({union}) e CROSS JOIN ({numbered}) s
        ) numbers
        WHERE raw IS NOT NULL AND raw <> ''
    """  # noqa: S608 - names from the code, values as parameters
    return query, [*field_params, *params]


def duplicate_contacts(ctx: AuditContext) -> Iterator[Hit]:
    """Contacts whose main number (business, else mobile) is the same number once
    normalised to E.164: "020 7946 0000" and "+44 20 7946 0000" are one. One finding per
    number, staged as one statement: both numbers joined with their verdicts, window
    functions, and the first CONTACTS_LISTED contacts (by name) in the details."""
    _verdicts_fill(ctx)
    contacts = ctx.entries(EntryKind.CONTACT).exclude(phone="", mobile="")
    columns = ("external_id", "name", "company", "phone", "mobile")
    union, union_params = union_sql([contacts], columns)
    noun = sql.literal(kind_noun(EntryKind.CONTACT))
    label, label_params = sql.entry_label(noun, "''", ["name", "company"], "external_id")
    listed = sql.json_object([("name", "name"), ("number", "main"), ("external_id", "external_id")])
    labels = " || ".join(
        ["MAX(CASE WHEN place = 1 THEN label END)"]
        + [f"COALESCE(', ' || MAX(CASE WHEN place = {n} THEN label END), '')" for n in (2, 3)]
    )
    details = sql.json_object(
        [
            ("count", "MAX(sharing)"),
            ("number", "e164"),
            ("contacts", sql.json_array_by_place(listed, "place", CONTACTS_LISTED)),
        ]
    )
    verdict = PhoneNumberVerdict._meta.db_table
    query = f"""
        SELECT %s AS subject_kind,
            MAX(CASE WHEN place = 1 THEN external_id END) AS subject_external_id,
            'number:' || e164 AS subject_key,
            'Contacts with number ' || e164 AS subject_label,
            {sql.thousands("MAX(sharing)")} || ' contacts have the number ' || e164 || ': '
                || {labels} || CASE WHEN MAX(sharing) > 3 THEN '...' ELSE '' END AS summary,
            {details} AS details, NULL AS severity, NULL AS pending
        FROM (
            SELECT external_id, name, main, e164, sharing, place, {label} AS label FROM (
                SELECT external_id, name, company, main, e164,
                    COUNT(*) OVER (PARTITION BY e164) AS sharing,
                    ROW_NUMBER() OVER (PARTITION BY e164 ORDER BY name, external_id) AS place
                FROM (
                    SELECT c.external_id, c.name, c.company,
                        CASE WHEN p.e164 IS NOT NULL THEN c.phone ELSE c.mobile END AS main,
                        COALESCE(p.e164, m.e164) AS e164
                    FROM ({union}) c
                    LEFT JOIN {verdict} p ON p.region = %s AND p.valid = %s AND p.raw = c.phone
                    LEFT JOIN {verdict} m ON m.region = %s AND m.valid = %s AND m.raw = c.mobile
                ) numbered
                WHERE e164 IS NOT NULL
            ) counted
            WHERE sharing > 1 AND place <= %s
        ) listed
        GROUP BY e164
    """  # noqa: S608 - table names from the models, values as parameters
    ctx.hits_select(
        query,
        [
            EntryKind.CONTACT.value,
            *label_params,
            *union_params,
            ctx.region,
            True,
            ctx.region,
            True,
            CONTACTS_LISTED,
        ],
    )
    return iter(())


def _verdicts_missing(ctx: AuditContext) -> bool:
    """Whether some of a sample of the connection's numbers (SAMPLE entries of each kind)
    have no verdict: a few milliseconds, where finding every missing one scans them all."""
    numbers, params = _numbers_sql(ctx, sample=SAMPLE)
    verdict = PhoneNumberVerdict._meta.db_table
    query = (
        f"SELECT 1 FROM ({numbers}) t WHERE LENGTH(t.raw) <= %s AND NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {verdict} v WHERE v.region = %s AND v.raw = t.raw) LIMIT 1"
    )
    with database.cursor() as cursor:
        cursor.execute(query, [*params, RAW_MAX, ctx.region])
        return cursor.fetchone() is not None


def _verdicts_fill(ctx: AuditContext) -> None:
    """Verdicts for every number text this module reads, once a pass (both rules read the
    contacts' numbers: the second would scan 100,000 contacts to find nothing missing)."""
    if "numbers.filled" not in ctx.memo:
        numbers, params = _numbers_sql(ctx)
        phone_verdicts_fill_sql(region=ctx.region, sql=numbers, params=params)
        ctx.memo["numbers.filled"] = True


RULES = (
    Rule(
        id="numbers.invalid",
        title="Phone numbers that are not valid",
        category=5,
        severity=Severity.MEDIUM,
        why=(
            "A mobile number that does not parse cannot be called from the 3CX apps, a caller "
            "ID that is not a valid number is rejected or replaced by the carrier, and a "
            "contact's broken number fails when someone dials it from the phonebook or a CRM "
            "match misses the caller. Numbers are read with Google's libphonenumber, written "
            "without a country code they are taken as numbers of the connection's phone "
            "region (set on the connection)."
        ),
        how_to_fix=(
            "Users: Admin > Users > select the user > General > Mobile number, and "
            "Admin > Users > select the user > General > Outbound Caller ID.",
            "Contacts: Admin > Contacts > select the contact > correct the number, preferably "
            "in international format (+44 20 7946 0000).",
        ),
        reads=(EntryKind.USER, EntryKind.CONTACT),
        evaluate=invalid,
    ),
    Rule(
        id="contacts.duplicate_number",
        title="Contacts sharing a phone number",
        category=5,
        severity=Severity.LOW,
        why=(
            "When two company contacts have the same number, 3CX shows whichever it finds "
            "first as the caller's name, and CRM look-ups match the wrong record. Usually one "
            "of them is an old copy. Numbers are compared once normalised to international "
            "format, so different spellings of one number count as one."
        ),
        how_to_fix=(
            "Admin > Contacts: search for the number, merge the contacts into one and delete "
            "the others (or Export, clean up and Import the list).",
        ),
        reads=(EntryKind.CONTACT,),
        evaluate=duplicate_contacts,
    ),
)
