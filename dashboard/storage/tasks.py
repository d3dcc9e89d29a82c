from celery import shared_task

from dashboard.storage.services import storage_browse_execute


@shared_task(name="storage.browse", ignore_result=True)
def storage_browse_task(browse_id: str) -> str:
    """No retries here: the client already retried transient errors while the user waits."""
    return storage_browse_execute(browse_id=browse_id).status
