from django import forms

from dashboard.directory.models import SyncInterval
from dashboard.tenants.forms import LabelledForm
from integrations.threecx.errors import UnsafeAddress
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_base_url_clean


class ConnectionForm(LabelledForm, forms.ModelForm):
    client_secret = forms.CharField(
        label="Client secret (API key)",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    sync_interval = forms.ChoiceField(
        label="Sync the directory", choices=SyncInterval.choices, initial=SyncInterval.DAILY
    )

    class Meta:
        model = ThreeCXConnection
        fields = ["name", "base_url", "client_id", "verify_tls", "timeout_seconds", "enabled"]
        widgets = {
            "base_url": forms.TextInput(
                attrs={"placeholder": "https://pbx.example.com:5001", "inputmode": "url"}
            ),
            "client_id": forms.TextInput(attrs={"placeholder": "900"}),
        }

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        editing = self.instance.pk is not None and self.instance.has_client_secret
        secret = self.fields["client_secret"]
        secret.required = not editing
        secret.help_text = (
            "Leave empty to keep the current secret."
            if editing
            else "Shown once in the 3CX console when the API client is created."
        )
        self.order_fields(
            [
                "name",
                "base_url",
                "client_id",
                "client_secret",
                "sync_interval",
                "verify_tls",
                "timeout_seconds",
                "enabled",
            ]
        )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = ThreeCXConnection.objects.filter(organization=self.organization, name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another connection of this organisation has this name.")
        return name

    def clean_base_url(self) -> str:
        try:
            return connection_base_url_clean(self.cleaned_data["base_url"])
        except UnsafeAddress as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_client_id(self) -> str:
        return self.cleaned_data["client_id"].strip()
