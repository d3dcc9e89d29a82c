"""Asking for audits, and acknowledging, suppressing and reopening findings."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from dashboard.directory.models import SyncRun
from dashboard.directory.signals import directory_switched
from dashboard.reports import services
from dashboard.reports.models import AuditRun, AuditState, Finding
from dashboard.reports.services import (
    acknowledgements_expire,
    audit_run_execute,
    audit_run_request,
    finding_acknowledge,
    finding_reopen,
)
from dashboard.tenants.models import Activity

pytestmark = pytest.mark.django_db

RULE = "users.no_email"


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Audit tasks sent (run ids), recorded instead of reaching a broker."""
    from dashboard.reports.tasks import reports_audit

    ids: list[str] = []
    monkeypatch.setattr(reports_audit, "delay", ids.append)
    return ids


@pytest.fixture
def finding(directory) -> Finding:
    directory.user("101", email="")
    directory.audit()
    return directory.open(RULE)[0]


def test_an_audit_is_sent_once_committed_and_runs(
    directory, admin, sent, django_capture_on_commit_callbacks
):
    directory.user("101", email="")
    with django_capture_on_commit_callbacks(execute=True):
        run = audit_run_request(
            connection=directory.connection, trigger="manual", requested_by=admin
        )
    assert sent == [str(run.pk)]
    assert Activity.objects.filter(action="reports.audit_requested").count() == 1
    run = audit_run_execute(run_id=run.pk, worker="test")
    assert run.status == "succeeded"
    assert run.opened == 1 and run.generation == 1
    assert RULE in run.rules_run and run.rules_skipped == []
    assert AuditState.objects.get(connection=directory.connection).last_run == run


def test_one_audit_at_a_time_per_connection(directory, sent):
    first = audit_run_request(connection=directory.connection, trigger="sync")
    assert audit_run_request(connection=directory.connection, trigger="manual") == first
    assert AuditRun.objects.count() == 1


def test_a_stale_audit_does_not_block_the_next(directory, sent):
    first = audit_run_request(connection=directory.connection, trigger="sync")
    AuditRun.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=1))
    second = audit_run_request(connection=directory.connection, trigger="sync")
    assert second != first
    first.refresh_from_db()
    assert first.status == "failed"


def test_a_run_the_broker_refuses_fails_instead_of_waiting(
    directory, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from dashboard.reports.tasks import reports_audit

    def refuse(*args):
        raise OperationalError("down")

    monkeypatch.setattr(reports_audit, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        run = audit_run_request(connection=directory.connection, trigger="sync")
    run.refresh_from_db()
    assert run.status == "failed" and run.error == services.BROKER_DOWN


def test_acknowledging_needs_a_reason_and_a_future_expiry(finding, admin):
    with pytest.raises(ValidationError):
        finding_acknowledge(finding=finding, user=admin, reason="  ")
    with pytest.raises(ValidationError):
        finding_acknowledge(
            finding=finding, user=admin, reason="ok", until=timezone.now() - timedelta(hours=1)
        )
    finding.refresh_from_db()
    assert finding.state == "open"


def test_acknowledging_is_logged_and_still_counted(finding, admin, directory):
    until = timezone.now() + timedelta(days=7)
    finding_acknowledge(
        finding=finding, user=admin, reason="New hire, email next week", until=until
    )
    assert (finding.state, finding.acknowledged_by, finding.acknowledged_until) == (
        "acknowledged",
        admin,
        until,
    )
    activity = Activity.objects.get(action="reports.finding_acknowledged")
    assert activity.details["reason"] == "New hire, email next week"
    state = AuditState.objects.get(connection=directory.connection)
    assert (state.medium, state.suppressed) == (1, 0)
    directory.audit()  # an audit keeps the acknowledgement while the condition holds
    finding.refresh_from_db()
    assert finding.state == "acknowledged"


def test_suppressing_hides_the_finding_from_the_counts(finding, admin, directory):
    finding_acknowledge(finding=finding, user=admin, reason="Shared lobby phone", suppress=True)
    assert finding.state == "suppressed"
    assert Activity.objects.filter(action="reports.finding_suppressed").exists()
    state = AuditState.objects.get(connection=directory.connection)
    assert (state.medium, state.suppressed) == (0, 1)


def test_reopening_undoes_it(finding, admin, directory):
    finding_acknowledge(finding=finding, user=admin, reason="later", suppress=True)
    finding_reopen(finding=finding, user=admin)
    assert (finding.state, finding.acknowledged_reason) == ("open", "")
    assert Activity.objects.filter(action="reports.finding_reopened").exists()
    assert AuditState.objects.get(connection=directory.connection).medium == 1
    with pytest.raises(ValidationError):
        finding_reopen(finding=finding, user=admin)


def test_expired_acknowledgements_end_and_the_counts_follow(finding, admin, directory):
    finding_acknowledge(
        finding=finding,
        user=admin,
        reason="later",
        suppress=True,
        until=timezone.now() + timedelta(hours=1),
    )
    assert acknowledgements_expire() == 0
    Finding.objects.filter(pk=finding.pk).update(acknowledged_until=timezone.now())
    assert acknowledgements_expire() == 1
    finding.refresh_from_db()
    assert finding.state == "open"
    state = AuditState.objects.get(connection=directory.connection)
    assert (state.medium, state.suppressed) == (1, 0)


def test_a_new_directory_generation_asks_for_an_audit(
    directory, sent, django_capture_on_commit_callbacks
):
    """The directory announces each switch (tests/dashboard/directory/test_sync_switch_signal.py
    shows when): a successful sync, or an applied review."""
    with django_capture_on_commit_callbacks(execute=True):
        directory_switched.send(sender=SyncRun, connection=directory.connection, generation=2)
    audit = AuditRun.objects.get(connection=directory.connection)
    assert audit.trigger == "sync" and sent == [str(audit.pk)]
