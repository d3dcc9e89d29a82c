"""A real Celery worker process for end-to-end tests, on the test database and broker."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if connection.is_in_memory_db():
            raise RuntimeError("A worker process cannot share an in-memory SQLite database.")
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("A worker process needs a database it can share.")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(
    *, concurrency: int = 1, ready_timeout: float = 60, own_process_group: bool = False
) -> Iterator[subprocess.Popen]:
    """Start `celery worker` on this run's queue and the test database; stop it afterwards.

    The worker's environment is this process's (set variables with monkeypatch.setenv before
    starting it). With `own_process_group`, `worker_kill` can kill it with all its children.
    It runs the product's Celery app through tests/worker_app.py, which only makes it exit
    quickly once stopped.
    """
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # Django's system checks, which a worker runs as it starts, import every view (and
        # with them phonenumbers' geocoder data): seconds per worker. CI runs them all with
        # `manage.py check --deploy`.
        "CELERY_SKIP_CHECKS": "1",
    }
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.worker_app",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--queues",
            os.environ["CELERY_TASK_DEFAULT_QUEUE"],
            "--hostname",
            f"tests-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=own_process_group,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while " ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log_path.unlink(missing_ok=True)


def worker_kill(process: subprocess.Popen) -> None:
    """SIGKILL a worker started with `own_process_group` and all its pool processes, as the
    OOM killer or a lost machine would: no cleanup, no acknowledgement, nothing."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_until(condition, *, timeout: float = 60, what: str = "the worker never got there") -> None:
    """Poll `condition` until it holds; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def worker_settled() -> bool:
    """No sync or audit queued or running, and every synced directory audited: a worker
    audits each new directory by itself after a sync, so a test can be over before it is.
    Wait for this before the tables are emptied under a worker that outlives the test."""
    from dashboard.directory.models import DirectoryState, SyncRun
    from dashboard.reports.models import AuditRun

    if SyncRun.objects.filter(status__in=SyncRun.ACTIVE).exists():
        return False
    if AuditRun.objects.filter(status__in=AuditRun.ACTIVE).exists():
        return False
    switches = DirectoryState.objects.filter(generation__gt=0).values_list(
        "connection", "generation", "last_success_at"
    )
    for connection_id, generation, switched_at in switches:
        audits = AuditRun.objects.filter(connection_id=connection_id)
        # Asked for after the switch, or (when one was already waiting) reading its generation.
        after = audits.filter(created_at__gte=switched_at) if switched_at else audits.none()
        if not (after.exists() or audits.filter(generation__gte=generation).exists()):
            return False
    return True


def sleep_until(moment) -> None:
    """Sleep until the aware datetime `moment`: for a timeout measured by the clock itself."""
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))
