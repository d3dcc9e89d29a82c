"""Beat's house-keeping over every job model."""

import pytest
from django.conf import settings as django_settings

from dashboard.celery import app
from dashboard.jobs.models import Job
from dashboard.jobs.tasks import jobs_mark_stale, jobs_purge_finished
from dashboard.storage.models import StorageBrowse

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


def test_finished_jobs_are_purged_after_the_retention_period(
    make_check, organization, connection, settings
):
    settings.JOB_RETENTION_DAYS = 30
    old = make_check(Job.Status.SUCCEEDED, age=40 * DAY, finished=31 * DAY)
    old_failure = make_check(Job.Status.FAILED, age=40 * DAY, finished=31 * DAY)
    recent = make_check(Job.Status.FAILED, age=29 * DAY, finished=29 * DAY)
    running = make_check(Job.Status.RUNNING, age=40 * DAY, heartbeat=1)
    browse = StorageBrowse.objects.create(
        organization=organization, connection=connection, filesystem="Local", status="succeeded"
    )
    StorageBrowse.objects.filter(pk=browse.pk).update(finished_at=old.finished_at)

    assert jobs_purge_finished() == 3
    remaining = set(connection.checks.values_list("pk", flat=True))
    assert remaining == {recent.pk, running.pk}
    assert old.pk not in remaining and old_failure.pk not in remaining
    assert not StorageBrowse.objects.exists()


def test_the_stale_sweep_serves_every_job_model(make_check, organization, connection, settings):
    settings.JOB_STALE_AFTER = 60
    make_check(Job.Status.RUNNING, age=600, heartbeat=300)
    StorageBrowse.objects.create(
        organization=organization, connection=connection, filesystem="Local"
    )
    StorageBrowse.objects.update(created_at=make_check().created_at.replace(year=2000))
    assert jobs_mark_stale() == 2
    assert set(connection.checks.values_list("status", flat=True)) == {"failed", "queued"}
    assert StorageBrowse.objects.get().error_title == "The worker did not pick this up"


def test_beat_runs_both_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"jobs.mark_stale", "jobs.purge"} <= scheduled
    assert {"jobs.mark_stale", "jobs.purge"} <= set(app.tasks)
