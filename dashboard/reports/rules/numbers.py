"""5. Phone numbers that do not parse or are not valid; contacts sharing a number."""

from collections import defaultdict
from collections.abc import Iterator

from django.db import connection as database
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from dashboard.directory.models import EntryKind
from dashboard.reports.models import PhoneNumberVerdict, Severity
from dashboard.reports.phones import (
    phone_verdicts_add,
    phone_verdicts_exist,
    phone_verdicts_fill,
    union_sql,
    verdicts_joined,
)
from dashboard.reports.rules.base import AuditContext, Hit, Rule, entry_label, isolated

#: (entry kind, field name in findings, what holds it) for every number the rule checks.
#: Contacts' Home number is read from the synced item itself (it has no column).
NUMBERS = (
    (EntryKind.USER, "mobile", F("mobile")),
    (EntryKind.USER, "caller ID", F("phone")),
    (EntryKind.CONTACT, "mobile", F("mobile")),
    (EntryKind.CONTACT, "business", F("phone")),
    # Cast: filters on the bare key transform would compare JSON values, not text.
    (EntryKind.CONTACT, "home", Cast(KT("data__Home"), output_field=CharField())),
)
TOO_LONG = "too long to be a phone number"
CONTACTS_LISTED = 20


def invalid(ctx: AuditContext) -> Iterator[Hit]:
    texts = [
        ctx.entries(kind)
        .annotate(raw=source, source=Value(index))
        .exclude(raw="")
        .exclude(raw=None)
        for index, (kind, _, source) in enumerate(NUMBERS)
    ]
    # A region's first audit parses every text first (one statement finds them); later ones
    # take the few texts without a verdict (new or changed numbers) from the query below,
    # which returns them anyway: that saves a scan of every number.
    if "numbers.filled" not in ctx.memo and not phone_verdicts_exist(region=ctx.region):
        _verdicts_fill(ctx)
    columns = ("source", "external_id", "number", "name", "company", "phone", "mobile", "raw")
    # Not valid: an invalid verdict, or none (not parsed yet, or too long to be a number).
    rows = verdicts_joined(
        texts,
        columns,
        region=ctx.region,
        where="v.valid IS NULL OR v.valid = %s",
        params=[False],
        order_by="t.source, t.number, t.name, t.external_id",
    )
    unparsed = {values[-1] for *values, valid, _, _, _ in rows if valid is None}
    added = phone_verdicts_add(region=ctx.region, texts=unparsed) if unparsed else {}
    ctx.memo["numbers.filled"] = True  # every number this module reads has a verdict now
    offending = []
    problems = {}
    for *values, valid, _, _, problem in rows:
        row = dict(zip(columns, values, strict=True))
        if valid is None and row["raw"] in added:
            _, valid, _, _, problem = added[row["raw"]]
            if valid:
                continue
        kind, field, _ = NUMBERS[row["source"]]
        offending.append((kind, field, row))
        if problem is not None:
            problems[row["raw"]] = problem
    for kind, field, row in offending:
        label = entry_label(
            kind,
            row["number"],
            row["name"],
            company=row["company"],
            phones=(row["phone"], row["mobile"]),
            external_id=row["external_id"],
        )
        problem = problems.get(row["raw"], TOO_LONG)
        yield Hit(
            subject_kind=kind,
            subject_external_id=row["external_id"],
            subject_key=f"{kind}:{row['external_id']}:{field}",
            subject_label=label,
            summary=f"{label}: {field} “{isolated(row['raw'])}”: {problem}",
            details={"field": field, "number": row["raw"], "problem": problem},  # jsonb's order
        )


def duplicate_contacts(ctx: AuditContext) -> Iterator[Hit]:
    """Contacts whose main number (business, else mobile) is the same number once
    normalised to E.164: "020 7946 0000" and "+44 20 7946 0000" are one."""
    rows = _with_e164(ctx, ctx.entries(EntryKind.CONTACT))
    by_number = defaultdict(list)
    for row in rows:
        by_number[row["e164"]].append(row)
    for e164, group in by_number.items():
        count = group[0]["sharing"]
        names = [
            entry_label(
                EntryKind.CONTACT,
                "",
                row["name"],
                company=row["company"],
                external_id=row["external_id"],
            )
            for row in group[:4]  # the summary names three, and says whether there are more
        ]
        first = group[0]
        yield Hit(
            subject_kind=EntryKind.CONTACT,
            subject_external_id=first["external_id"],
            subject_key=f"number:{e164}",
            subject_label=f"Contacts with number {e164}",
            summary=f"{count:,} contacts have the number {e164}: {', '.join(names[:3])}"
            + ("..." if len(names) > 3 else ""),
            # Keys in jsonb's order (length, then bytes): what PostgreSQL returns compares
            # equal as text, without decoding (engine._described_same).
            details={
                "count": count,
                "number": e164,
                "contacts": [
                    {"name": row["name"], "number": row["main"], "external_id": row["external_id"]}
                    for row in group
                ],
            },
        )


def _verdicts_fill(ctx: AuditContext) -> None:
    """Verdicts for every number text this module reads, once a pass (both rules read the
    contacts' numbers: the second would scan 100,000 contacts to find nothing missing)."""
    if "numbers.filled" not in ctx.memo:
        every = [
            ctx.entries(kind).annotate(raw=source).exclude(raw="").exclude(raw=None)
            for kind, _, source in NUMBERS
        ]
        phone_verdicts_fill(region=ctx.region, texts=every)
        ctx.memo["numbers.filled"] = True


def _with_e164(ctx: AuditContext, contacts: QuerySet) -> list[dict]:
    """The first CONTACTS_LISTED contacts (by name) of each E.164 number that several share,
    the number of their business number, else of their mobile ("e164", that number as written,
    "main", and how many share it, "sharing"), ordered by it; contacts with neither valid are
    left out. One pass: both numbers joined with their verdicts, window functions. Only the
    listed contacts leave the database: two thirds of a large messy phonebook share a number."""
    columns = ("external_id", "name", "company", "phone", "mobile")
    _verdicts_fill(ctx)
    contacts_sql, params = union_sql([contacts.exclude(phone="", mobile="")], columns)
    verdict = PhoneNumberVerdict._meta.db_table
    sql = f"""
        SELECT external_id, name, company, main, e164, sharing FROM (
            SELECT external_id, name, company, main, e164,
                COUNT(*) OVER (PARTITION BY e164) AS sharing,
                ROW_NUMBER() OVER (PARTITION BY e164 ORDER BY name, external_id) AS place
            FROM (
                SELECT c.external_id, c.name, c.company,
                    CASE WHEN p.e164 IS NOT NULL THEN c.phone ELSE c.mobile END AS main,
                    COALESCE(p.e164, m.e164) AS e164
                FROM ({contacts_sql}) c
                LEFT JOIN {verdict} p ON p.region = %s AND p.valid = %s AND p.raw = c.phone
                LEFT JOIN {verdict} m ON m.region = %s AND m.valid = %s AND m.raw = c.mobile
            ) numbered
            WHERE e164 IS NOT NULL
        ) t
        WHERE sharing > 1 AND place <= %s
        ORDER BY e164, place
    """  # noqa: S608 - table names from the models, values as parameters
    with database.cursor() as cursor:
        cursor.execute(sql, [*params, ctx.region, True, ctx.region, True, CONTACTS_LISTED])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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
