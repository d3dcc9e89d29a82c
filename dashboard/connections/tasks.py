from celery import shared_task

from dashboard.connections.services import connection_check_execute


@shared_task(name="connections.check", ignore_result=True)
def connection_check_task(check_id: str) -> str:
    return connection_check_execute(check_id=check_id).status
