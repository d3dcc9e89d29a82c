"""Every rule fires on the data it is about, and stays quiet on data that is fine."""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.directory.models import DirectoryRelation, EntryKind
from dashboard.reports.models import PhoneNumberVerdict, Severity
from dashboard.reports.phones import phone_verdicts_add
from dashboard.reports.rules import RULES, numbers, rule_get
from tests.dashboard.reports.directory import SyncedDirectory

pytestmark = pytest.mark.django_db

Kind = DirectoryRelation.Kind


def days(n: int) -> str:
    return (timezone.now() + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def populate(d: SyncedDirectory) -> None:
    """A small, healthy phone system: one of everything, all of it fine."""
    d.user(
        "100",
        "Ada Admin",
        is_admin=True,
        data={"Groups": [{"Rights": {"RoleName": "system_owners"}}]},
    )
    d.user("101", "Bob Baker", mobile="07911 123456", phone="+44 20 7946 0000")
    d.queue("800", "100", "101")
    d.queue("700", "101", kind=EntryKind.RING_GROUP)
    ivr = d.entry(EntryKind.IVR, number="600", name="Main menu")
    d.relate(ivr, Kind.IVR_FORWARD, "800", target_type="Queue", label="Key 1")
    d.relate(ivr, Kind.IVR_FORWARD, "101", target_type="Extension", label="Timeout")
    rule = d.entry(EntryKind.INBOUND_RULE, number="+442079460000", name="Main DID")
    d.relate(rule, Kind.INBOUND_DESTINATION, "600", target_type="IVR", label="Office hours")
    d.relate(rule, Kind.INBOUND_DESTINATION, "100", target_type="VoiceMail", label="Holidays")
    d.entry(EntryKind.TRUNK, number="10000", name="Provider", is_online=True)
    d.entry(EntryKind.SIP_DEVICE, number="101", name="Yealink T54W", is_registered=True)
    d.entry(EntryKind.CONTACT, name="Carol Client", phone="+44 161 496 0000", mobile="07911 123457")
    d.entry(
        EntryKind.CONTACT, name="Dan Dealer", phone="0161 496 0001", data={"Home": "0161 496 0002"}
    )


def test_a_healthy_system_has_no_findings(directory):
    populate(directory)
    outcome = directory.audit()
    assert directory.open() == []
    assert outcome.rules_skipped == []
    assert len(outcome.rules_run) == len(RULES) == 25


def test_rule_ids_are_unique_and_each_explains_itself():
    assert len({rule.id for rule in RULES}) == len(RULES)
    assert {rule.category for rule in RULES} == set(range(1, 13))
    for rule in RULES:
        assert rule_get(rule.id) is rule
        assert rule.why and rule.how_to_fix and rule.reads
        assert all("Admin >" in step or "partner" in step for step in rule.how_to_fix[:1]), rule.id
    assert rule_get("no.such_rule") is None


# (rule, what makes it fire, what keeps it quiet: a near miss) — each on a healthy system.
def routing_fire(d):
    d.user("101", enabled=False)
    d.queue("800", "105")  # no such extension
    d.queue("700", "101", kind=EntryKind.RING_GROUP)  # disabled user


def routing_quiet(d):
    d.user("101")
    d.queue("800", "101")
    ivr = d.entry(EntryKind.IVR, number="600")
    d.relate(ivr, Kind.IVR_FORWARD, "800", target_type="Queue", label="Key 1")
    d.relate(ivr, Kind.IVR_FORWARD, "", target_type="EndCall", label="Key 2")
    user = d.user("102")
    d.relate(user, Kind.FORWARDING, "+33140000000", target_type="External", label="Away")


def admin_fire(d):
    d.user(
        "100",
        is_admin=True,
        require_2fa=False,
        data={"Groups": [{"Rights": {"RoleName": "system_admins"}}]},
    )


def admin_quiet(d):
    d.user("100", is_admin=True, require_2fa=True)
    d.user("101", is_admin=True, require_2fa=False, enabled=False)


def user_2fa_fire(d):
    d.user("101", require_2fa=False)


def user_2fa_quiet(d):
    d.user("101", require_2fa=True)
    d.user("102", require_2fa=None, enabled=False)


def tollfraud_fire(d):
    user = d.user("101")
    d.relate(user, Kind.FORWARDING, "020 7946 0999", target_type="External", label="Away")


def tollfraud_quiet(d):
    user = d.user("101")
    d.relate(user, Kind.FORWARDING, "102", target_type="Extension", label="Away")
    d.user("102")


def no_email_fire(d):
    d.user("101", email="")


def no_email_quiet(d):
    d.user("101", email="bob@example.com")
    d.user("102", email="", enabled=False)


def dup_email_fire(d):
    d.user("101", email="sales@example.com")
    d.user("102", email=" Sales@Example.com")


def dup_email_quiet(d):
    d.user("101", email="ann@example.com")
    d.user("102", email="anne@example.com")


def dup_name_fire(d):
    d.user("101", "Sam Smith")
    d.user("102", "sam smith")


def dup_name_quiet(d):
    d.user("101", "Sam Smith")
    d.user("102", "Sam Smyth")


def invalid_fire(d):
    d.user("101", mobile="12345")


def invalid_quiet(d):
    d.user("101", mobile="+44 7911 123456", phone="")
    d.entry(EntryKind.CONTACT, name="Eve", phone="020 7946 0123", data={"Home": "+1 212 555 0100"})


def dup_contact_fire(d):
    d.entry(EntryKind.CONTACT, name="Acme", phone="020 7946 0123")
    d.entry(EntryKind.CONTACT, name="Acme Ltd", phone="+44 20 7946 0123")


def dup_contact_quiet(d):
    d.entry(EntryKind.CONTACT, name="Acme", phone="020 7946 0123")
    d.entry(EntryKind.CONTACT, name="Acme Ltd", phone="020 7946 0124")


def disabled_member_fire(d):
    d.user("101", enabled=False)
    d.queue("800", "101")


def disabled_member_quiet(d):
    d.user("101", enabled=False)
    d.user("102")
    d.queue("800", "102")


def empty_fire(d):
    d.queue("800")


def empty_quiet(d):
    d.user("101")
    d.queue("800", "101")
    d.queue("700", "101", kind=EntryKind.RING_GROUP)


def ivr_fire(d):
    ivr = d.entry(EntryKind.IVR, number="600")
    d.relate(ivr, Kind.IVR_FORWARD, "101", target_type="Extension", label="Timeout")
    d.user("101")


def ivr_quiet(d):
    ivr = d.entry(EntryKind.IVR, number="600")
    d.relate(ivr, Kind.IVR_FORWARD, "101", target_type="Extension", label="Key 0")
    d.user("101")


CASES = [
    ("routing.nowhere", routing_fire, routing_quiet, 2),
    ("security.admin_without_2fa", admin_fire, admin_quiet, 1),
    ("security.user_without_2fa", user_2fa_fire, user_2fa_quiet, 1),
    ("tollfraud.external_forwarding", tollfraud_fire, tollfraud_quiet, 1),
    ("users.no_email", no_email_fire, no_email_quiet, 1),
    ("users.duplicate_email", dup_email_fire, dup_email_quiet, 2),
    ("users.duplicate_name", dup_name_fire, dup_name_quiet, 2),
    ("numbers.invalid", invalid_fire, invalid_quiet, 1),
    ("contacts.duplicate_number", dup_contact_fire, dup_contact_quiet, 1),
    ("users.disabled_still_member", disabled_member_fire, disabled_member_quiet, 1),
    ("groups.empty", empty_fire, empty_quiet, 1),
    ("ivr.no_targets", ivr_fire, ivr_quiet, 1),
    (
        "trunks.unregistered",
        lambda d: d.entry(EntryKind.TRUNK, number="10000", is_online=False),
        lambda d: d.entry(EntryKind.TRUNK, number="10000", is_online=True),
        1,
    ),
    (
        "devices.unregistered",
        lambda d: d.entry(EntryKind.SIP_DEVICE, number="101", is_registered=False),
        lambda d: d.entry(EntryKind.SIP_DEVICE, number="101", is_registered=True),
        1,
    ),
    (
        "extensions.unregistered",
        lambda d: d.status(ExtensionsRegistered=7, ExtensionsTotal=10),
        lambda d: d.status(ExtensionsRegistered=10, ExtensionsTotal=10),
        1,
    ),
    (
        "licence.expiring",
        lambda d: d.status(ExpirationDate=days(20)),
        lambda d: d.status(ExpirationDate=days(40)),
        1,
    ),
    (
        "licence.maintenance_expired",
        lambda d: d.status(MaintenanceExpiresAt=days(-1)),
        lambda d: d.status(MaintenanceExpiresAt=days(1)),
        1,
    ),
    (
        "licence.inactive",
        lambda d: d.settings("LicenseStatus", {"Activated": True, "LicenseActive": False}),
        lambda d: d.settings("LicenseStatus", {"Activated": True, "LicenseActive": True}),
        1,
    ),
    (
        "version.behind_fleet",
        lambda d: d.fleet_member(version="20.0.11.100"),
        lambda d: d.fleet_member(version="20.0.9.1000"),
        1,
    ),
    (
        "updates.auto_off",
        lambda d: d.status(AutoUpdateEnabled=False),
        lambda d: d.status(AutoUpdateEnabled=True),
        1,
    ),
    (
        "backups.none_recent",
        lambda d: d.settings("Backups", {"count": 1, "newest": days(-8)}),
        lambda d: d.settings("Backups", {"count": 1, "newest": days(-6)}),
        1,
    ),
    (
        "backups.not_scheduled",
        lambda d: d.settings("BackupSettings", {"ScheduleEnabled": False}),
        lambda d: d.settings("BackupSettings", {"ScheduleEnabled": True}),
        1,
    ),
    (
        "security.antihacking_weak",
        lambda d: d.settings(
            "AntiHackingSettings", {"HackAuthRequests": 100, "HackBlacklistDuration": 60}
        ),
        lambda d: d.settings(
            "AntiHackingSettings",
            {
                "HackAuthRequests": 10,
                "HackBlacklistDuration": 90000,
                "SecurityDefenseProgram": True,
            },
        ),
        1,
    ),
    (
        "security.audit_log_off",
        lambda d: d.status(IsAuditLogEnabled=False),
        lambda d: d.status(IsAuditLogEnabled=True),
        1,
    ),
    (
        "outbound.no_emergency_rule",
        lambda d: d.entries_update(EntryKind.OUTBOUND_RULE, data={"EmergencyRule": False}),
        lambda d: d.entry(
            EntryKind.OUTBOUND_RULE, name="Local", number="0", data={"EmergencyRule": False}
        ),
        1,
    ),
]


def test_every_rule_has_a_case():
    assert {case[0] for case in CASES} == {rule.id for rule in RULES}


@pytest.mark.parametrize(("rule", "fire", "quiet", "found"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_fires(directory, rule, fire, quiet, found):
    fire(directory)
    directory.audit()
    findings = directory.open(rule)
    assert len(findings) == found, [f.summary for f in findings]
    assert all(f.summary and f.severity in Severity.values for f in findings)


@pytest.mark.parametrize(("rule", "fire", "quiet", "found"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_stays_quiet(directory, rule, fire, quiet, found):
    quiet(directory)
    directory.audit()
    assert [f.summary for f in directory.open(rule)] == []


# How findings name what they are about.
FSI, PDI = "\u2068", "\u2069"


def test_names_from_the_pbx_are_isolated_so_that_right_to_left_text_keeps_its_place(directory):
    directory.user(
        "103",
        "محمد العلي",
        is_admin=True,
        require_2fa=False,
        data={"Groups": [{"Rights": {"RoleName": "system_admins"}}]},
    )
    directory.audit()
    [finding] = directory.open("security.admin_without_2fa")
    assert finding.subject_label == f"User 103 {FSI}محمد العلي{PDI}"
    assert finding.summary == (
        f"User 103 {FSI}محمد العلي{PDI} is a system administrator and 2FA is not required"
    )


def test_a_forwarding_profiles_name_is_isolated_too(directory):
    user = directory.user("101", "Bob")
    directory.relate(
        user,
        Kind.FORWARDING,
        "00 33 1 40 00 00 00",
        target_type="External",
        label="خارج المكتب: all calls",
    )
    directory.audit()
    [finding] = directory.open("tollfraud.external_forwarding")
    assert finding.summary.endswith(f", {FSI}خارج المكتب: all calls{PDI}")


def test_contacts_without_a_name_are_named_by_company_number_or_3cx_id(directory):
    directory.entry(EntryKind.CONTACT, name="", company="Acme Ltd", phone="020 7946 0123")
    directory.entry(EntryKind.CONTACT, name="", phone="+44 20 7946 0123", external_id=5)
    directory.entry(EntryKind.CONTACT, name="", mobile="0791 not a number")
    directory.audit()
    [shared] = directory.open("contacts.duplicate_number")
    assert shared.summary == (
        f"2 contacts have the number +442079460123: Contact #5, Contact {FSI}Acme Ltd{PDI}"
    )
    [invalid] = directory.open("numbers.invalid")
    assert invalid.subject_label == f"Contact {FSI}0791 not a number{PDI}"
    assert "Contact:" not in invalid.summary


def test_numbers_written_after_the_first_audit_are_judged_at_the_next(directory):
    directory.user("101", mobile="+44 20 7946 0000")
    directory.entry(EntryKind.CONTACT, name="Ann", phone="020 7946 0111")
    directory.audit()
    assert directory.open("numbers.invalid") == []

    user = directory.user("102", mobile="0791 not a number")
    directory.entry(EntryKind.CONTACT, name="Bea", phone="+44 20 7946 0111")
    directory.entry(EntryKind.CONTACT, name="Cid", mobile="+44 7911 123456")
    directory.audit()
    [invalid] = directory.open("numbers.invalid")
    assert (invalid.subject_external_id, invalid.details["number"]) == (
        user.external_id,
        "0791 not a number",
    )
    [shared] = directory.open("contacts.duplicate_number")
    assert shared.details["number"] == "+442079460111"
    assert [c["name"] for c in shared.details["contacts"]] == ["Ann", "Bea"]
    assert PhoneNumberVerdict.objects.get(region="GB", raw="+44 7911 123456").valid


def fills(queries) -> int:
    """Statements that look for every entry's number without a verdict."""
    return sum(
        "SELECT DISTINCT t.raw" in query["sql"] and "slot0" in query["sql"] for query in queries
    )


def test_numbers_the_sync_judged_are_not_looked_for_again(directory):
    directory.user("101", mobile="0791 not a number")
    directory.entry(EntryKind.CONTACT, name="Ann", phone="020 7946 0111")
    phone_verdicts_add(region="GB", texts=["0791 not a number", "020 7946 0111"])
    with CaptureQueriesContext(db) as queries:
        directory.audit()
    assert fills(queries) == 0
    [invalid] = directory.open("numbers.invalid")
    assert invalid.details["number"] == "0791 not a number"


def test_numbers_nobody_judged_are_judged_first_in_one_statement(directory):
    directory.user("101", mobile="0791 not a number")
    directory.entry(EntryKind.CONTACT, name="Ann", phone="020 7946 0111")
    with CaptureQueriesContext(db) as queries:
        directory.audit()
    assert fills(queries) == 1
    assert len(directory.open("numbers.invalid")) == 1
    assert PhoneNumberVerdict.objects.filter(region="GB").count() == 2


def test_numbers_a_sample_did_not_show_unjudged_are_judged_all_the_same(directory, monkeypatch):
    monkeypatch.setattr(numbers, "SAMPLE", 1)
    directory.user("101", mobile="+44 7911 123456", phone="12")
    directory.entry(EntryKind.CONTACT, name="Ann", phone="+44 20 7946 0999")
    directory.entry(EntryKind.CONTACT, name="Bea", mobile="0791 not a number")
    directory.entry(EntryKind.CONTACT, name="Cid", phone="020 7946 0111")
    directory.entry(EntryKind.CONTACT, name="Dee", phone="+44 20 7946 0111")
    phone_verdicts_add(region="GB", texts=["+44 7911 123456", "12", "+44 20 7946 0999"])
    with CaptureQueriesContext(db) as queries:
        outcome = directory.audit()
    assert fills(queries) == 0
    invalid = directory.open("numbers.invalid")
    assert sorted(f.details["number"] for f in invalid) == ["0791 not a number", "12"]
    [shared] = directory.open("contacts.duplicate_number")
    assert [c["name"] for c in shared.details["contacts"]] == ["Cid", "Dee"]
    assert outcome.opened == len(directory.open()) == 3
    again = directory.audit()
    assert (again.opened, again.refreshed, again.resolved) == (0, 3, 0)


def test_a_home_number_that_is_not_text_is_judged_as_the_database_reads_it(directory):
    directory.entry(EntryKind.CONTACT, name="Ann", data={"Home": 79460000})
    directory.audit()
    [invalid] = directory.open("numbers.invalid")
    assert (invalid.details["field"], invalid.details["number"]) == ("home", "79460000")


def test_a_number_shared_by_many_contacts_counts_them_all_and_lists_the_first(directory):
    for index in range(25):
        directory.entry(EntryKind.CONTACT, name=f"Contact {index:02}", phone="020 7946 0222")
    directory.audit()
    [shared] = directory.open("contacts.duplicate_number")
    assert shared.details["count"] == 25
    assert [c["name"] for c in shared.details["contacts"]] == [
        f"Contact {index:02}" for index in range(20)
    ]
    assert shared.summary.startswith("25 contacts have the number +442079460222: ")
    assert shared.summary.endswith("...")
