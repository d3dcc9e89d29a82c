"""Read-mostly admin pages for support staff: findings and runs are written by audits."""

from django.contrib import admin

from dashboard.reports.models import AuditRun, AuditState, Finding


@admin.register(AuditRun)
class AuditRunAdmin(admin.ModelAdmin):
    list_display = ["connection", "trigger", "status", "created_at", "opened", "resolved"]
    list_filter = ["status", "trigger"]
    readonly_fields = [field.name for field in AuditRun._meta.fields]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["rule", "severity", "state", "subject_label", "connection", "first_seen"]
    list_filter = ["severity", "state", "rule"]
    search_fields = ["summary", "subject_label"]
    readonly_fields = [field.name for field in Finding._meta.fields]


@admin.register(AuditState)
class AuditStateAdmin(admin.ModelAdmin):
    list_display = ["connection", "critical", "high", "medium", "low", "last_audit_at"]
    readonly_fields = [field.name for field in AuditState._meta.fields]
