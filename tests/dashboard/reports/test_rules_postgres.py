"""The rules' JSON lookups and set-based SQL on PostgreSQL (the rest of the suite runs them
on SQLite; run this file with DATABASE_URL=postgres://...)."""

import pytest

from dashboard.directory.models import EntryKind
from dashboard.reports.rules import RULES
from tests.dashboard.reports.test_rules import CASES, populate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_every_rule_fires_together_on_postgresql(directory):
    for _, fire, _, _ in CASES:
        fire(directory)
    directory.entry(EntryKind.CONTACT, name="Homer", data={"Home": "not a number"})
    outcome = directory.audit()
    assert outcome.rules_skipped == []
    fired = {finding.rule for finding in directory.open()}
    assert fired == {rule.id for rule in RULES}
    homes = [f for f in directory.open("numbers.invalid") if f.details["field"] == "home"]
    assert [f.details["number"] for f in homes] == ["not a number"]


def test_a_healthy_system_has_no_findings_on_postgresql(directory):
    populate(directory)
    directory.audit()
    assert directory.open() == []
