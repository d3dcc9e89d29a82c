from django import forms
from django.contrib import admin
from django.views.decorators.debug import sensitive_variables

from integrations.threecx.errors import InvalidInput, UnsafeAddress
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import (
    connection_base_url_clean,
    connection_save,
    connection_secret_check,
)


class ThreeCXConnectionAdminForm(forms.ModelForm):
    """The dashboard's rules for addresses and secrets, applied in the Django admin too.

    The secret is write-only: never shown, encrypted by `connection_save`, required when the
    connection is new or its address, client ID or certificate checking changes.
    """

    client_secret = forms.CharField(
        label="Client secret (API key)",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = ThreeCXConnection
        fields = [
            "organization",
            "name",
            "base_url",
            "client_id",
            "client_secret",
            "verify_tls",
            "tls_ca_certificates",
            "timeout_seconds",
            "enabled",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        editing = not self.instance._state.adding and self.instance.has_client_secret
        secret = self.fields["client_secret"]
        secret.required = not editing
        secret.help_text = (
            "Leave empty to keep the current secret. A new server address, client ID or "
            "certificate setting needs the secret again."
            if editing
            else "Shown once in the 3CX console when the API client is created."
        )

    def clean_base_url(self) -> str:
        try:
            return connection_base_url_clean(self.cleaned_data["base_url"])
        except UnsafeAddress as exc:
            raise forms.ValidationError(str(exc)) from None

    @sensitive_variables("secret")
    def clean(self) -> dict:
        cleaned = super().clean()
        secret = cleaned.get("client_secret")
        if "client_secret" in cleaned and {"base_url", "client_id"} <= cleaned.keys():
            try:
                connection_secret_check(
                    connection=self.instance,
                    base_url=cleaned["base_url"],
                    client_id=cleaned["client_id"],
                    verify_tls=cleaned.get("verify_tls", True),
                    ca_certificates=cleaned.get("tls_ca_certificates", ""),
                    client_secret=secret,
                )
            except InvalidInput as exc:
                self.add_error("client_secret", str(exc))
        return cleaned


@admin.register(ThreeCXConnection)
class ThreeCXConnectionAdmin(admin.ModelAdmin):
    """Saved through `connection_save`, like the dashboard's form: one set of rules."""

    form = ThreeCXConnectionAdminForm
    list_display = ["name", "organization", "base_url", "version", "enabled", "last_checked_at"]
    list_filter = ["enabled", "verify_tls"]
    search_fields = ["name", "base_url", "organization__name"]
    readonly_fields = ["last_error", "last_error_at", "last_checked_at", "version"]

    def save_model(self, request, obj: ThreeCXConnection, form, change: bool) -> None:
        connection_save(connection=obj, client_secret=form.cleaned_data.get("client_secret"))
