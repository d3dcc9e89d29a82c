from django import forms
from django.contrib import admin

from dashboard.tenants.models import Activity, Invitation, Membership, Organization
from dashboard.validators import form_text_fields_guard


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class OrganizationAdminForm(forms.ModelForm):
    """The product's rule for names holds here too: they go into email subjects."""

    class Meta:
        model = Organization
        fields = ["name", "require_mfa", "xapi_writes_enabled"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        form_text_fields_guard(self)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = ["name", "require_mfa", "xapi_writes_enabled", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__name"]
    exclude = ["token"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_label", "action", "target_label"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label", "organization__name"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
