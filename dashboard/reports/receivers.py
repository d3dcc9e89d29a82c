"""Where the audit reports hear of what happened elsewhere (the directory sits below them
and does not import them)."""

from dashboard.reports.models import AuditRun
from dashboard.reports.phones import PhoneVerdictJudge, phone_region
from dashboard.reports.rules.numbers import number_texts
from dashboard.reports.services import audit_run_request


def audit_after_directory_switch(*, connection, generation: int, **kwargs) -> None:
    """Audit every new directory generation: after each successful sync, and after a held
    sync is applied."""
    audit_run_request(connection=connection, trigger=AuditRun.Trigger.SYNC)


def numbers_judge_while_syncing(*, run, **kwargs) -> PhoneVerdictJudge:
    """Have the phone numbers a sync writes judged while it runs: the audit it is followed
    by (a connection's first one, with every number new, included) finds them judged."""
    return PhoneVerdictJudge(region=phone_region(run.connection), texts_of=number_texts)
