from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "dashboard.reports"
    label = "reports"
    verbose_name = "Audit reports"

    def ready(self) -> None:
        from dashboard.directory.signals import directory_switched
        from dashboard.directory.sync import sync_started
        from dashboard.exports.sources import export_source_register
        from dashboard.reports.exports import FINDINGS, ROLLUP
        from dashboard.reports.receivers import (
            audit_after_directory_switch,
            numbers_judge_while_syncing,
        )

        directory_switched.connect(audit_after_directory_switch, dispatch_uid="reports_audit")
        sync_started.connect(numbers_judge_while_syncing, dispatch_uid="reports_numbers_judge")
        export_source_register(FINDINGS)
        export_source_register(ROLLUP)
