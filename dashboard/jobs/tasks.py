"""Beat's house-keeping for every job model: fail the stale ones, purge the old ones."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from dashboard.jobs.runner import job_models, jobs_expire_stale, jobs_purge


@shared_task(name="jobs.mark_stale", ignore_result=True)
def jobs_mark_stale() -> int:
    """Jobs nobody is polling still end: lost workers and jobs never picked up fail."""
    return sum(jobs_expire_stale(model) for model in job_models())


@shared_task(name="jobs.purge", ignore_result=True)
def jobs_purge_finished() -> int:
    older_than = timedelta(days=settings.JOB_RETENTION_DAYS)
    return sum(jobs_purge(model, older_than=older_than) for model in job_models())
