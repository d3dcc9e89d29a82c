"""Celery entry points: take an id, call a service."""

import logging
import os
import socket

from celery import shared_task

from dashboard.directory.models import SyncRun
from dashboard.directory.services import sync_retry_schedule, sync_run_request
from dashboard.directory.sync import sync_run_execute
from integrations.threecx.models import ThreeCXConnection

logger = logging.getLogger(__name__)


@shared_task(name="directory.sync", bind=True, acks_late=True, ignore_result=True)
def directory_sync(self, run_id: str) -> str:
    worker = f"{self.request.hostname or socket.gethostname()} pid {os.getpid()}"
    run = sync_run_execute(run_id=run_id, worker=worker)
    sync_retry_schedule(run=run)
    return run.status


@shared_task(name="directory.sync_scheduled", ignore_result=True)
def directory_sync_scheduled(connection_id: str) -> None:
    """Beat's entry: skip disabled connections and those with a permanent error."""
    connection = ThreeCXConnection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.enabled:
        return
    if connection.last_error_permanent:
        logger.info("Skipping scheduled sync of %s: %s", connection_id, connection.last_error)
        return
    sync_run_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULED)
