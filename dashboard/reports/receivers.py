"""Where the audit reports hear of what happened elsewhere (the directory sits below them
and does not import them)."""

from dashboard.reports.models import AuditRun
from dashboard.reports.services import audit_run_request


def audit_after_directory_switch(*, connection, generation: int, **kwargs) -> None:
    """Audit every new directory generation: after each successful sync, and after a held
    sync is applied."""
    audit_run_request(connection=connection, trigger=AuditRun.Trigger.SYNC)
