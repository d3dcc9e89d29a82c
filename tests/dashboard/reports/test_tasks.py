"""The Celery entry points call their services."""

import pytest

from dashboard.directory.models import DirectoryState
from dashboard.reports import tasks as reports_tasks
from dashboard.reports.models import AuditRun
from dashboard.reports.tasks import reports_acknowledgements_expire, reports_audit

pytestmark = pytest.mark.django_db


def test_the_audit_task_carries_out_the_run(directory):
    run = AuditRun.objects.create(
        organization_id=directory.connection.organization_id, connection=directory.connection
    )
    assert reports_audit.run(str(run.pk)) == "succeeded"
    assert reports_audit.run(str(run.pk)) == "succeeded"  # a redelivery changes nothing
    run.refresh_from_db()
    assert len(run.rules_run) == 25


def test_the_expiry_task_ends_acknowledgements():
    assert reports_acknowledgements_expire.run() == 0


def test_the_tasks_have_the_names_beat_and_the_services_use():
    assert reports_audit.name == "reports.audit"
    assert reports_acknowledgements_expire.name == "reports.acknowledgements_expire"


def test_a_directory_switched_during_an_audit_is_audited_next(
    directory, monkeypatch, django_capture_on_commit_callbacks
):
    """The switch found this run active and asked for nothing more: the task catches up."""
    sent: list[str] = []
    monkeypatch.setattr(reports_audit, "delay", sent.append)
    run = AuditRun.objects.create(
        organization_id=directory.connection.organization_id, connection=directory.connection
    )
    audited = directory.connection.directory_state.generation

    def switched_meanwhile(**kwargs):
        result = execute(**kwargs)
        DirectoryState.objects.filter(connection=directory.connection).update(
            generation=audited + 1
        )
        return result

    execute = reports_tasks.audit_run_execute
    monkeypatch.setattr(reports_tasks, "audit_run_execute", switched_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        reports_audit.run(str(run.pk))
    follow_up = AuditRun.objects.exclude(pk=run.pk).get()
    assert follow_up.trigger == "sync" and sent == [str(follow_up.pk)]


def test_an_audit_of_the_current_directory_asks_for_no_other(directory, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(reports_audit, "delay", sent.append)
    run = AuditRun.objects.create(
        organization_id=directory.connection.organization_id, connection=directory.connection
    )
    reports_audit.run(str(run.pk))
    assert AuditRun.objects.count() == 1 and sent == []
