"""What `phonenumbers` makes of the number texts an audit reads, memoised per region.

Parsing costs tens of microseconds a number; a connection with 100,000 contacts would spend
seconds on it at every audit. So each distinct text is parsed once per default region, the
verdict kept in PhoneNumberVerdict, and the rules join that table in SQL.
"""

import json
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.db import connection as database
from django.db.models import QuerySet
from phonenumbers import NumberParseException, ValidationResult

from dashboard.reports.models import PhoneNumberVerdict

#: The longest text a verdict holds (PhoneNumberVerdict.raw); longer ones are not numbers.
RAW_MAX = PhoneNumberVerdict._meta.get_field("raw").max_length
BATCH = 1000
#: New verdicts after which the table is analyzed (a tenth of a second; parsing them took
#: seconds).
ANALYZE_AFTER = 10_000

_PROBLEMS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length",
}


def phone_verdicts_fill(*, region: str, texts: Iterable[QuerySet]) -> int:
    """Parse the distinct texts of `texts` that have no verdict for `region` yet, and store
    their verdicts; returns how many were added.

    Each queryset of `texts` must have one text column annotated as "raw" (for instance
    `entries.annotate(raw=F("mobile"))`)."""
    union, params = union_sql(texts, ("raw",))
    if not union:
        return 0
    return phone_verdicts_fill_sql(region=region, sql=union, params=params)


def phone_verdicts_fill_sql(*, region: str, sql: str, params: Iterable[Any] = ()) -> int:
    """`phone_verdicts_fill` for the "raw" column of the rows of `sql`.

    Only the missing texts leave the database: one statement anti-joined with the verdicts.
    NOT EXISTS rather than NOT IN: PostgreSQL hashes a NOT IN list only while it fits in
    work_mem, and the verdicts of a region are shared by every connection in it."""
    verdict = PhoneNumberVerdict._meta.db_table
    # Table names from the models, values as parameters.
    query = (
        f"SELECT DISTINCT t.raw FROM ({sql}) t WHERE t.raw IS NOT NULL AND t.raw <> '' "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {verdict} v WHERE v.region = %s AND v.raw = t.raw)"
    )
    with database.cursor() as cursor:
        cursor.execute(query, [*params, region])
        missing = [raw for (raw,) in cursor.fetchall()]
    return len(phone_verdicts_add(region=region, texts=missing))


def phone_verdicts_add(*, region: str, texts: Iterable[str]) -> dict[str, tuple]:
    """Parse `texts` (distinct, known to have no verdict for `region`), store their verdicts
    and return them by text, as VERDICT_COLUMNS tuples; texts too long to be kept as a
    number (RAW_MAX) get none."""
    verdicts = [_verdict_values(raw, region) for raw in texts if len(raw) <= RAW_MAX]
    _verdicts_insert(verdicts, region=region)
    if len(verdicts) >= ANALYZE_AFTER and database.vendor == "postgresql":
        # The statements right after this join the verdicts with every number: with the
        # table's old statistics (none, on a first audit) they are planned for a few rows.
        with database.cursor() as cursor:
            cursor.execute(f"ANALYZE {database.ops.quote_name(PhoneNumberVerdict._meta.db_table)}")
    return {values[0]: values for values in verdicts}


def phone_verdicts_exist(*, region: str) -> bool:
    """Whether any text has a verdict for `region` yet (a first audit in a region has none)."""
    return PhoneNumberVerdict.objects.filter(region=region).exists()


#: A verdict's columns besides its region, in `_verdict_values`' order.
VERDICT_COLUMNS = ("raw", "valid", "e164", "country", "problem")


def _verdicts_insert(verdicts: list[tuple], *, region: str) -> None:
    """Store new verdicts (`_verdict_values` tuples). Another audit may have stored some of
    them meanwhile: theirs are the same verdicts, so conflicts are ignored.

    On PostgreSQL as one JSON document expanded by the server: Django's bulk insert there
    passes each column as an array whose text the driver escapes in Python, seconds for the
    50,000 numbers of a large PBX's first audit."""
    if database.vendor != "postgresql":
        PhoneNumberVerdict.objects.bulk_create(
            [
                PhoneNumberVerdict(region=region, **dict(zip(VERDICT_COLUMNS, values, strict=True)))
                for values in verdicts
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return
    table = PhoneNumberVerdict._meta.db_table
    names = ("region", *VERDICT_COLUMNS)
    columns = ", ".join(names)
    for start in range(0, len(verdicts), BATCH * 20):
        rows = [
            dict(zip(names, (region, *values), strict=True))
            for values in verdicts[start : start + BATCH * 20]
        ]
        with database.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset("  # noqa: S608
                f"NULL::{table}, %s::json) ON CONFLICT DO NOTHING",
                [json.dumps(rows)],
            )


def union_sql(querysets: Iterable[QuerySet], columns: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The querysets' `columns` one after the other (UNION ALL), as SQL and parameters: to
    join with PhoneNumberVerdict, which no relation leads to."""
    parts, params = [], []
    for queryset in querysets:
        sql, part_params = queryset.order_by().values(*columns).query.sql_with_params()
        parts.append(sql)
        params.extend(part_params)
    return " UNION ALL ".join(parts), params


def phone_verdict(raw: str, *, region: str) -> PhoneNumberVerdict:
    """The verdict on one text (unsaved)."""
    values = dict(zip(VERDICT_COLUMNS, _verdict_values(raw, region), strict=True))
    return PhoneNumberVerdict(region=region, **values)


def _verdict_values(raw: str, region: str) -> tuple[str, bool, str, str, str]:
    """The verdict on one text as VERDICT_COLUMNS: a tuple, not a model instance (building
    50,000 of those cost a second and a half of a large PBX's first audit)."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return raw, False, "", "", "does not parse as a phone number"
    # is_valid_number(n) is is_valid_number_for_region(n, region_code_for_number(n)); the
    # region is looked up once for both (for +1 it tries ~25 regions' patterns).
    found = phonenumbers.region_code_for_number(number)
    country = _country(number, found)
    if phonenumbers.is_valid_number_for_region(number, found):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return raw, True, e164, country, ""
    reason = phonenumbers.is_possible_number_with_reason(number)
    return raw, False, "", country, _PROBLEMS.get(reason, "not a valid number")


def _country(number: phonenumbers.PhoneNumber, found: str | None) -> str:
    """The number's ISO region ("GB"); empty for non-geographic numbers ("001")."""
    region = found or phonenumbers.region_code_for_country_code(number.country_code)
    return region if region and len(region) == 2 and region != "ZZ" else ""
