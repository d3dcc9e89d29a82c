"""Celery entry points: take an id, call a service."""

from celery import shared_task

from dashboard.jobs.runner import worker_name
from dashboard.reports.digest import digests_send
from dashboard.reports.services import (
    acknowledgements_expire,
    audit_catch_up,
    audit_run_execute,
)


@shared_task(name="reports.audit", bind=True, acks_late=True, ignore_result=True)
def reports_audit(self, run_id: str) -> str:
    run = audit_run_execute(run_id=run_id, worker=worker_name(self.request.hostname))
    audit_catch_up(run=run)
    return run.status


@shared_task(name="reports.acknowledgements_expire", ignore_result=True)
def reports_acknowledgements_expire() -> int:
    return acknowledgements_expire()


@shared_task(name="reports.digests_send", ignore_result=True)
def reports_digests_send() -> int:
    """Beat's hourly entry: sends the digests that are due."""
    return digests_send()
