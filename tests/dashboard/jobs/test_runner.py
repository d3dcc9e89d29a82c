"""The runner every background job goes through: claimed once, always finished, failed when
its worker is lost or never comes."""

import threading
from datetime import timedelta

import pytest

from dashboard.connections.models import ConnectionCheck
from dashboard.jobs import runner
from dashboard.jobs.models import Job
from dashboard.jobs.runner import JobFailed, job_expire_if_stale, job_run, jobs_expire_stale

pytestmark = pytest.mark.django_db


def test_it_carries_out_a_job_once_however_often_its_task_comes(make_check):
    check = make_check()
    calls = []

    def work(job):
        calls.append(job.pk)
        return {"result": {"version": "20.0.10"}}

    first = job_run(ConnectionCheck, check.pk, work, worker="w1 pid 1")
    again = job_run(ConnectionCheck, check.pk, work, worker="w2 pid 2")
    assert calls == [check.pk]
    assert first.status == again.status == Job.Status.SUCCEEDED
    check.refresh_from_db()
    assert check.result == {"version": "20.0.10"}
    assert check.worker == "w1 pid 1"
    assert check.started_at <= check.finished_at


def test_the_work_sees_its_job_running_with_a_heartbeat(make_check):
    seen = {}

    def work(job):
        job.refresh_from_db()
        seen.update(status=job.status, heartbeat=job.heartbeat_at, worker=job.worker)

    job_run(ConnectionCheck, make_check().pk, work, worker="w1 pid 1")
    assert seen["status"] == Job.Status.RUNNING
    assert seen["heartbeat"] is not None
    assert seen["worker"] == "w1 pid 1"


def test_an_expected_failure_shows_its_title_and_message(make_check):
    def work(job):
        raise JobFailed("Authentication failed", "Check the client ID and secret.")

    check = job_run(ConnectionCheck, make_check().pk, work)
    check.refresh_from_db()
    assert check.status == Job.Status.FAILED
    assert (check.error_title, check.error) == (
        "Authentication failed",
        "Check the client ID and secret.",
    )
    assert check.finished_at is not None


@pytest.mark.parametrize("exception", [RuntimeError("bug"), KeyboardInterrupt()])
def test_any_other_exception_still_finishes_the_job_and_is_raised_again(make_check, exception):
    check = make_check()

    def work(job):
        raise exception

    with pytest.raises(type(exception)):
        job_run(ConnectionCheck, check.pk, work)
    check.refresh_from_db()
    assert check.status == Job.Status.FAILED
    assert check.error_title == runner.UNEXPECTED_TITLE
    assert "bug" not in check.error  # internals go to the log, not to the page


def test_a_running_job_whose_heartbeat_is_old_fails_as_lost(make_check, settings):
    settings.JOB_STALE_AFTER = 60
    lost = make_check(Job.Status.RUNNING, age=300, heartbeat=61)
    alive = make_check(Job.Status.RUNNING, age=300, heartbeat=5)
    assert jobs_expire_stale(ConnectionCheck) == 1
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == Job.Status.FAILED
    assert lost.error_title == "The worker stopped"
    assert "stopped responding" in lost.error
    assert lost.finished_at is not None
    assert alive.status == Job.Status.RUNNING


def test_a_job_no_worker_picks_up_fails_saying_so(make_check, settings):
    settings.JOB_STALE_AFTER = 120
    forgotten = make_check(age=121)
    waiting = make_check(age=30)
    assert waiting.is_unclaimed  # the page warns already...
    assert jobs_expire_stale(ConnectionCheck) == 1
    forgotten.refresh_from_db()
    waiting.refresh_from_db()
    assert forgotten.status == Job.Status.FAILED
    assert forgotten.error_title == "The worker did not pick this up"
    assert "within 2 minutes" in forgotten.error
    assert waiting.status == Job.Status.QUEUED  # ...but gives it time


def test_a_job_declared_lost_stays_failed_when_its_worker_finishes_late(make_check, settings):
    settings.JOB_STALE_AFTER = 60
    check = make_check()

    def work(job):
        ConnectionCheck.objects.filter(pk=job.pk).update(
            heartbeat_at=job.heartbeat_at - timedelta(seconds=61)
        )
        job.refresh_from_db()
        assert job_expire_if_stale(job)  # a poll of the page, while the worker is frozen
        return {"result": {"version": "20.0.10"}}

    job_run(ConnectionCheck, check.pk, work)
    check.refresh_from_db()
    assert check.status == Job.Status.FAILED
    assert check.result == {}


def test_a_finished_job_is_never_stale(make_check, settings):
    settings.JOB_STALE_AFTER = 60
    done = make_check(Job.Status.SUCCEEDED, age=3600, heartbeat=3600, finished=3500)
    assert not job_expire_if_stale(done)
    assert jobs_expire_stale(ConnectionCheck) == 0
    done.refresh_from_db()
    assert done.status == Job.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_goes_on_while_one_step_takes_long(make_check, settings, monkeypatch):
    """A slow server's retries are not a dead worker: the runner beats from a thread."""
    settings.JOB_STALE_AFTER = 1  # a beat every quarter of a second
    beaten = threading.Event()
    beat = runner.job_heartbeat

    def beat_once(job):
        alive = beat(job)
        beaten.set()
        return alive and False  # one beat shows it; stop the thread there

    monkeypatch.setattr(runner, "job_heartbeat", beat_once)
    seen = {}

    def slow_step(job):
        assert beaten.wait(timeout=60)
        job.refresh_from_db()
        seen["heartbeat"] = job.heartbeat_at
        seen["started"] = job.started_at

    job_run(ConnectionCheck, make_check().pk, slow_step)
    assert seen["heartbeat"] > seen["started"]
