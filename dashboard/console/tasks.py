from celery import shared_task

from dashboard.console.services import xapi_call_execute
from dashboard.jobs.runner import worker_name


@shared_task(name="console.xapi_call", bind=True, ignore_result=True)
def xapi_call_task(self, call_id: str) -> str:
    """No retries here: the client retries a read's transient errors while the user waits,
    and a write is sent once, as the person confirmed it."""
    return xapi_call_execute(call_id=call_id, worker=worker_name(self.request.hostname)).status
