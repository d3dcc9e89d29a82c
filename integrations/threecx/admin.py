from django.contrib import admin

from integrations.threecx.models import ThreeCXConnection


@admin.register(ThreeCXConnection)
class ThreeCXConnectionAdmin(admin.ModelAdmin):
    """Read-mostly: secrets are set from the dashboard, where they are write-only."""

    list_display = ["name", "organization", "base_url", "version", "enabled", "last_checked_at"]
    list_filter = ["enabled", "verify_tls"]
    search_fields = ["name", "base_url", "organization__name"]
    exclude = ["client_secret_encrypted"]
    readonly_fields = ["last_error", "last_error_at", "last_checked_at", "version"]
