from celery import shared_task

from dashboard.jobs.runner import worker_name
from dashboard.storage.services import storage_browse_execute


@shared_task(name="storage.browse", bind=True, ignore_result=True)
def storage_browse_task(self, browse_id: str) -> str:
    """No retries here: the client already retried transient errors while the user waits."""
    return storage_browse_execute(
        browse_id=browse_id, worker=worker_name(self.request.hostname)
    ).status
