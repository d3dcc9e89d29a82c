from celery import shared_task

from dashboard.connections.services import connection_check_execute
from dashboard.jobs.runner import worker_name


@shared_task(name="connections.check", bind=True, ignore_result=True)
def connection_check_task(self, check_id: str) -> str:
    return connection_check_execute(
        check_id=check_id, worker=worker_name(self.request.hostname)
    ).status
