"""Entry points for the worker and beat: make an export's file, purge expired files."""

from celery import shared_task

from dashboard.exports.services import export_run, exports_purge
from dashboard.jobs.runner import worker_name


@shared_task(name="exports.run", bind=True, ignore_result=True)
def export_run_task(self, export_id: str) -> str:
    """No retries: a failed export says why on its page, and exporting again is one click."""
    return export_run(export_id=export_id, worker=worker_name(self.request.hostname)).status


@shared_task(name="exports.purge", ignore_result=True)
def exports_purge_task() -> int:
    return exports_purge()
