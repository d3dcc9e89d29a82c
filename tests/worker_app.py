"""The Celery app that test worker processes run (`celery -A tests.worker_app`): the
product's own app, unchanged, plus one thing for the pace of the test run.

Once a worker has shut down cleanly (its tasks finished or handed back, its pool joined, its
broker connection closed) its process exits at once. The interpreter's own clean-up would
spend seconds collecting a heap that nothing reads any more, and each test that stops a
worker waits for that.
"""

import os
import sys

from celery.signals import worker_shutdown

from dashboard.celery import app

__all__ = ["app"]


@worker_shutdown.connect
def _exit_at_once(sender, **_) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(sender.exitcode or 0)
