"""The engine's PostgreSQL paths: hits staged with COPY, verdicts as one JSON document,
statistics taken for tables that have none (run with DATABASE_URL=postgres://...)."""

import pytest
from django.db import connection as database

from dashboard.directory.models import DirectoryEntry, EntryKind
from dashboard.reports.engine import statistics_ensure
from dashboard.reports.models import PhoneNumberVerdict

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def users_without_email(directory, count: int) -> None:
    DirectoryEntry.objects.bulk_create(
        DirectoryEntry(
            organization_id=directory.connection.organization_id,
            connection=directory.connection,
            kind=EntryKind.USER,
            external_id=10_000 + i,
            generation_added=1,
            number=str(10_000 + i),
            name=f"User {i}",
            email="",
            mobile="+44 20 7946 0000" if i % 2 else "n/a",
            enabled=True,
            require_2fa=True,
            is_admin=False,
            content_hash="x",
        )
        for i in range(count)
    )


MANY = 2050


def test_a_first_audit_with_thousands_of_findings_writes_them_all(directory):
    users_without_email(directory, MANY)
    outcome = directory.audit()
    no_email = directory.open("users.no_email")
    assert len(no_email) == MANY
    assert outcome.opened == len(directory.open())
    finding = next(f for f in no_email if f.subject_external_id == 10_001)
    assert finding.summary == f"{finding.subject_label} has no email address"
    assert (finding.state, finding.severity, finding.details) == ("open", "medium", {})
    assert finding.first_seen == finding.last_seen and finding.resolved_at is None
    invalid = {f.details["number"] for f in directory.open("numbers.invalid")}
    assert invalid == {"n/a"}

    again = directory.audit()
    assert (again.opened, again.resolved) == (0, 0)
    assert again.refreshed == outcome.opened


def test_verdicts_stored_in_one_statement_are_whole(directory):
    directory.user("101", mobile="+44 20 7946 0000", phone="12")
    directory.audit()
    region = directory.connection.phone_region.upper()
    verdicts = {v.raw: v for v in PhoneNumberVerdict.objects.filter(region=region)}
    assert verdicts["+44 20 7946 0000"].e164 == "+442079460000"
    assert verdicts["+44 20 7946 0000"].country == "GB"
    assert verdicts["12"].valid is False
    assert verdicts["12"].problem


def test_tables_without_statistics_are_analyzed_once(directory):
    directory.user("101")
    with database.cursor() as cursor:
        # What a new table (or one just emptied) looks like to the planner.
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE relname = 'directory_directoryentry'"
        )
    assert "directory_directoryentry" in statistics_ensure()
    assert "directory_directoryentry" not in statistics_ensure()
