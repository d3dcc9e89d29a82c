"""Findings keep their history: opened, refreshed, resolved, reopened as new findings."""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind, SyncRun
from dashboard.reports.engine import NOT_SYNCED, finding_last_seen
from dashboard.reports.models import AuditState, Finding, FindingSnapshot
from dashboard.reports.rules.upkeep import version_key
from tests.dashboard.reports.directory import SyncedDirectory

pytestmark = pytest.mark.django_db

RULE = "users.no_email"


def test_a_finding_opens_refreshes_resolves_and_reopens_as_a_new_one(directory):
    user = directory.user("101", email="")
    start = timezone.now()

    first = directory.audit(now=start)
    assert first.opened >= 1
    [finding] = directory.open(RULE)
    assert (finding.state, finding.first_seen, finding.last_seen) == ("open", start, start)

    later = start + timedelta(hours=1)
    directory.audit(now=later)
    [refreshed] = directory.open(RULE)
    assert refreshed.pk == finding.pk
    assert (refreshed.first_seen, finding_last_seen(finding=refreshed)) == (start, later)

    DirectoryEntry.objects.filter(pk=user.pk).update(email="bob@example.com")
    fixed = directory.audit(now=later + timedelta(hours=1))
    assert fixed.resolved == 1
    resolved = Finding.objects.get(pk=finding.pk)
    assert resolved.state == "resolved"
    assert resolved.resolved_at == later + timedelta(hours=1)
    assert resolved.last_seen == later  # the last time it was true
    assert finding_last_seen(finding=resolved) == later
    assert directory.open(RULE) == []

    DirectoryEntry.objects.filter(pk=user.pk).update(email="")
    directory.audit(now=later + timedelta(hours=2))
    [again] = directory.open(RULE)
    assert again.pk != finding.pk
    assert len(directory.findings(RULE)) == 2  # the resolved one stays as history


def test_a_refresh_rewrites_what_changed(directory):
    directory.status(ExtensionsRegistered=9, ExtensionsTotal=10)
    directory.audit()
    directory.status(ExtensionsRegistered=5)
    outcome = directory.audit()
    [finding] = directory.open("extensions.unregistered")
    assert finding.summary == "5 of 10 extensions are not registered"
    assert outcome.opened == 0


def test_severity_follows_the_hit(directory):
    in_20_days = (timezone.now() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    in_3_days = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    directory.status(ExpirationDate=in_20_days)
    directory.audit()
    assert directory.open("licence.expiring")[0].severity == "high"
    directory.status(ExpirationDate=in_3_days)
    directory.audit()
    assert directory.open("licence.expiring")[0].severity == "critical"


def test_an_acknowledgement_that_ran_out_is_open_again_at_the_next_audit(directory):
    directory.user("101", email="")
    directory.audit()
    now = timezone.now()
    Finding.objects.filter(rule=RULE).update(
        state="suppressed", acknowledged_reason="later", acknowledged_until=now - timedelta(1)
    )
    directory.audit()
    [finding] = directory.open(RULE)
    assert (finding.state, finding.acknowledged_reason) == ("open", "")


def test_the_audit_state_and_snapshot_count_what_is_unresolved(directory):
    directory.user("101", email="", require_2fa=False)
    directory.user("102", email="")
    directory.entry(EntryKind.TRUNK, number="10000", is_online=False)
    directory.audit()
    Finding.objects.filter(rule=RULE, subject_label__contains="102").update(state="suppressed")
    directory.audit()
    state = AuditState.objects.get(connection=directory.connection)
    assert (state.critical, state.medium, state.low, state.suppressed) == (1, 1, 1, 1)
    assert state.worst_rule == "trunks.unregistered"
    assert state.oldest_critical_at is not None
    assert state.version == directory.connection.version
    assert state.licence_expires_at is not None
    [snapshot] = FindingSnapshot.objects.filter(connection=directory.connection)
    assert (snapshot.critical, snapshot.medium, snapshot.low) == (1, 1, 1)


def test_rules_whose_data_is_unavailable_are_skipped_and_keep_their_findings(directory):
    directory.entries_update(EntryKind.OUTBOUND_RULE, data={"EmergencyRule": False})
    directory.audit()
    assert len(directory.open("outbound.no_emergency_rule")) == 1
    reason = "OutboundRules is not available on this version of 3CX."
    DirectoryState.objects.filter(pk=directory.state.pk).update(
        unavailable={"outbound_rule": reason}
    )
    outcome = directory.audit()
    assert {"rule": "outbound.no_emergency_rule", "reason": reason} in outcome.rules_skipped
    assert "outbound.no_emergency_rule" not in outcome.rules_run
    assert len(directory.open("outbound.no_emergency_rule")) == 1  # not resolved
    state = AuditState.objects.get(connection=directory.connection)
    assert {"rule": "outbound.no_emergency_rule", "reason": reason} in state.rules_skipped


def test_findings_of_a_skipped_rule_were_last_seen_when_it_last_ran(directory):
    directory.entries_update(EntryKind.OUTBOUND_RULE, data={"EmergencyRule": False})
    start = timezone.now()
    directory.audit(now=start)
    directory.audit(now=start + timedelta(hours=1))
    DirectoryState.objects.filter(pk=directory.state.pk).update(
        unavailable={"outbound_rule": "OutboundRules is not available on this version of 3CX."}
    )
    directory.audit(now=start + timedelta(hours=2))
    directory.audit(now=start + timedelta(hours=3))
    [finding] = directory.open("outbound.no_emergency_rule")
    assert finding.last_seen == start + timedelta(hours=1)
    assert finding_last_seen(finding=finding) == start + timedelta(hours=1)

    DirectoryState.objects.filter(pk=directory.state.pk).update(unavailable={})
    directory.audit(now=start + timedelta(hours=4))
    [again] = directory.open("outbound.no_emergency_rule")
    assert again.pk == finding.pk
    assert finding_last_seen(finding=again) == start + timedelta(hours=4)


def test_a_finding_resolved_after_its_rule_was_skipped_keeps_when_it_was_last_seen(directory):
    user = directory.user("101", email="")
    start = timezone.now()
    directory.audit(now=start)
    directory.audit(now=start + timedelta(hours=1), rules=())  # nothing runs
    DirectoryEntry.objects.filter(pk=user.pk).update(email="bob@example.com")
    directory.audit(now=start + timedelta(hours=2))
    [finding] = directory.findings(RULE)
    assert finding.resolved_at == start + timedelta(hours=2)
    assert finding_last_seen(finding=finding) == start


def test_settings_not_read_yet_skip_their_rules(directory):
    directory.settings("AntiHackingSettings", None)
    settings = dict(directory.state.pbx_settings)
    del settings["AntiHackingSettings"]
    DirectoryState.objects.filter(pk=directory.state.pk).update(pbx_settings=settings)
    outcome = directory.audit()
    skipped = {item["rule"]: item["reason"] for item in outcome.rules_skipped}
    assert skipped == {
        "security.antihacking_weak": "AntiHackingSettings has not been read from this server yet."
    }


def test_kinds_the_last_sync_did_not_read_skip_their_rules(directory):
    run = SyncRun.objects.create(
        organization_id=directory.connection.organization_id,
        connection=directory.connection,
        status="succeeded",
        progress={"user": {}, "contact": {}},
    )
    DirectoryState.objects.filter(pk=directory.state.pk).update(last_run=run)
    skipped = {item["rule"] for item in directory.audit().rules_skipped}
    assert "outbound.no_emergency_rule" in skipped
    assert "users.no_email" not in skipped


def test_nothing_runs_before_the_first_successful_sync(organization):
    directory = SyncedDirectory(organization)
    DirectoryState.objects.filter(pk=directory.state.pk).update(last_success_at=None)
    outcome = directory.audit()
    assert outcome.rules_run == []
    assert {item["reason"] for item in outcome.rules_skipped} == {NOT_SYNCED}


def test_entries_of_other_generations_and_connections_are_not_audited(organization, directory):
    directory.user("101", email="", generation=2)  # being written by a sync in progress
    removed = directory.user("102", email="")
    DirectoryEntry.objects.filter(pk=removed.pk).update(generation_removed=1)
    SyncedDirectory(organization, name="Other").user("103", email="")
    directory.audit()
    assert directory.open(RULE) == []


def test_versions_compare_part_by_part_as_numbers():
    assert version_key("20.0.10.999") > version_key("20.0.9.1000")
    assert version_key("20.0.10") == (20, 0, 10, 0)
    assert version_key("20.0 Update 4") == (20, 0, 0, 0)
    assert version_key("unknown") is None


def test_the_fleet_spans_every_organisation(directory):
    directory.fleet_member(version="20.0.11.5")
    directory.audit()
    [finding] = directory.open("version.behind_fleet")
    assert finding.details == {"version": "20.0.10.999", "newest": "20.0.11.5"}


def fill(directory: SyncedDirectory, n: int) -> None:
    """n of every kind of problem."""
    for i in range(n):
        number = str(2000 + 10 * directory_size(directory) + i)
        user = directory.user(number, "Same Name", email="", mobile="123", require_2fa=False)
        directory.relate(user, "forwarding", "+33140000000", target_type="External", label="Away")
        directory.queue(str(int(number) + 5000), "9999")
        directory.entry(EntryKind.CONTACT, name=f"C{number}", phone="020 7946 0000")
        directory.entry(EntryKind.TRUNK, number=number, is_online=False)


def directory_size(directory: SyncedDirectory) -> int:
    return DirectoryEntry.objects.filter(connection=directory.connection).count()


def audit_queries(directory: SyncedDirectory) -> int:
    with CaptureQueriesContext(db) as queries:
        directory.audit()
    return len(queries)


def test_a_full_pass_costs_the_same_queries_however_many_rows(organization):
    small, large = SyncedDirectory(organization, name="Small"), SyncedDirectory(organization)
    fill(small, 2)
    fill(large, 20)
    # First passes parse numbers and open findings; the steady state is what repeats.
    audit_queries(small), audit_queries(large)
    assert audit_queries(small) == audit_queries(large)
    # New findings too (fewer than one insert batch: SQLite's holds ~70 findings).
    fill(small, 1)
    fill(large, 5)
    assert audit_queries(small) == audit_queries(large) < 80


def test_a_second_audit_with_nothing_changed_rewrites_no_finding(directory):
    directory.user("101", email="", mobile="0791 not a number")
    for name in ("Ann", "Bea"):
        directory.entry(EntryKind.CONTACT, name=name, phone="020 7946 0333")
    first = directory.audit()
    with CaptureQueriesContext(db) as queries:
        again = directory.audit()
    assert (again.opened, again.refreshed, again.resolved) == (0, first.opened, 0)
    rewrites = [
        q["sql"] for q in queries if q["sql"].startswith('UPDATE "reports_finding" SET "severity"')
    ]
    assert rewrites == []


def test_details_that_changed_are_rewritten(directory):
    directory.user("101", mobile="0791 not a number")
    directory.audit()
    finding = directory.open("numbers.invalid")[0]
    Finding.objects.filter(pk=finding.pk).update(details={"problem": "stale", "field": "mobile"})
    directory.audit()
    assert Finding.objects.get(pk=finding.pk).details == finding.details
    assert finding.details["problem"] != "stale"
