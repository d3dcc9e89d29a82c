"""The SQL that set-based rules name entries with says what the Python does
(`rules.base.entry_label`), on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection as database

from dashboard.directory.models import EntryKind
from dashboard.reports import sql
from dashboard.reports.rules.base import entry_label, kind_noun

pytestmark = pytest.mark.django_db

CASES = [
    # (kind, number, name, company, phone, mobile, external_id)
    (EntryKind.USER, "101", "Ada Lovelace", "", "", "", 7),
    (EntryKind.USER, "102", "  محمد العلي  ", "", "", "", 8),
    (EntryKind.CONTACT, "", "", "Zoë & Co 株式会社", "", "", 9),
    (EntryKind.CONTACT, "", "\t\u00a0", "", " +44 20 7946 0000 ", "", 10),
    (EntryKind.CONTACT, "", "", "", "", "+1 415 555 0100", 11),
    (EntryKind.CONTACT, "", "", "", "", "", 12),
    (EntryKind.CONTACT, "", "\u3000", " ", "", "", -9_007_199_254_740_993),
    (EntryKind.USER, "1" * 60, "N" * 260, "", "", "", 13),
    (EntryKind.USER, "", 'O\'Brien "the" 😀', "", "", "", 14),
]


@pytest.mark.parametrize("case", CASES, ids=[str(case[-1]) for case in CASES])
def test_a_label_made_by_the_database_is_the_label_python_makes(case):
    kind, number, name, company, phone, mobile, external_id = case
    label, params = sql.entry_label(
        sql.literal(kind_noun(kind)),
        "t.number",
        ["t.name", "t.company", "t.phone", "t.mobile"],
        "t.external_id",
    )
    query = (
        f"SELECT {label} FROM (SELECT %s AS number, %s AS name, %s AS company, %s AS phone, "  # noqa: S608
        "%s AS mobile, %s AS external_id) t"
    )
    with database.cursor() as cursor:
        cursor.execute(query, [*params, number, name, company, phone, mobile, external_id])
        [(made,)] = cursor.fetchall()
    expected = entry_label(
        kind, number, name, company=company, phones=(phone, mobile), external_id=external_id
    )
    assert made == expected


@pytest.mark.parametrize("number", [2, 999, 1_000, 1_234_567])
def test_counts_read_with_thousands_separators_as_python_writes_them(number):
    with database.cursor() as cursor:
        cursor.execute(f"SELECT {sql.thousands('%s')}", [number])
        [(text,)] = cursor.fetchall()
    assert text == f"{number:,}"
