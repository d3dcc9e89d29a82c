from functools import cache

import phonenumbers
from django import forms
from django.core.files.uploadedfile import UploadedFile
from phonenumbers import geocoder

from dashboard.directory.models import SyncInterval
from dashboard.tenants.forms import LabelledForm
from integrations.threecx.certificates import MAX_LENGTH, ca_certificates_from_upload
from integrations.threecx.errors import InvalidInput, UnsafeAddress
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_base_url_clean, connection_secret_check

#: Regions phonenumbers reads numbers of whose names its geocoder does not give.
_REGION_NAMES = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}
DEFAULT_PHONE_REGION = "US"


@cache
def phone_region_choices() -> tuple[tuple[str, str], ...]:
    """Every region phonenumbers can read numbers of, as ("GB", "United Kingdom (GB)"), by
    name."""
    names = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        names[region] = name or _REGION_NAMES.get(region, region)
    return tuple(
        (region, f"{name} ({region})")
        for region, name in sorted(names.items(), key=lambda pair: pair[1].casefold())
    )


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
    removal_review_percent = forms.IntegerField(
        label="Hold a sync for review when it removes more than this % of a kind",
        min_value=0,
        max_value=100,
        initial=10,
        required=False,
        help_text="It waits until an admin applies or discards it. Empty: as it is (10).",
    )
    removal_review_count = forms.IntegerField(
        label="…and more than this many entries",
        min_value=0,
        max_value=10_000_000,
        initial=50,
        required=False,
        help_text="Empty: as it is (50).",
    )
    phone_region = forms.ChoiceField(
        label="Default country for phone numbers",
        choices=phone_region_choices,
        required=False,
        help_text=(
            'Numbers written without a country code ("020 7946 0000") are read as numbers of '
            "this country when the audit checks them."
        ),
        error_messages={
            "invalid_choice": "“%(value)s” is not a country phone numbers can be read for: "
            "pick one from the list."
        },
    )
    tls_ca_certificates_file = forms.FileField(
        label="Or upload the CA certificate",
        required=False,
        help_text="A .pem, .crt or .cer file; it replaces the text above.",
    )

    class Meta:
        model = ThreeCXConnection
        fields = [
            "name",
            "base_url",
            "client_id",
            "verify_tls",
            "tls_ca_certificates",
            "timeout_seconds",
            "phone_region",
            "enabled",
        ]
        widgets = {
            "base_url": forms.TextInput(
                attrs={"placeholder": "https://pbx.example.com:5001", "inputmode": "url"}
            ),
            "client_id": forms.TextInput(attrs={"placeholder": "900"}),
            "tls_ca_certificates": forms.Textarea(
                attrs={
                    "rows": 4,
                    "placeholder": "-----BEGIN CERTIFICATE-----",
                    "spellcheck": "false",
                }
            ),
        }

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        editing = self.instance.pk is not None and self.instance.has_client_secret
        secret = self.fields["client_secret"]
        secret.required = not editing
        secret.help_text = (
            "Leave empty to keep the current secret. A new server address, client ID or "
            "certificate setting needs the secret again."
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
                "removal_review_percent",
                "removal_review_count",
                "phone_region",
                "verify_tls",
                "tls_ca_certificates",
                "tls_ca_certificates_file",
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

    def clean_phone_region(self) -> str:
        """Not given (an older form, a script): the connection keeps its own."""
        return (
            self.cleaned_data["phone_region"] or self.instance.phone_region or DEFAULT_PHONE_REGION
        )

    def clean_client_id(self) -> str:
        return self.cleaned_data["client_id"].strip()

    def clean(self) -> dict:
        # After the fields: the new address, client ID and certificate settings (an uploaded
        # CA file included) are known; if one is invalid its own error is shown instead.
        cleaned = super().clean()
        if {"base_url", "client_id", "client_secret"} <= cleaned.keys():
            try:
                connection_secret_check(
                    connection=self.instance,
                    base_url=cleaned["base_url"],
                    client_id=cleaned["client_id"],
                    verify_tls=cleaned.get("verify_tls", True),
                    ca_certificates=cleaned.get("tls_ca_certificates", ""),
                    client_secret=cleaned["client_secret"],
                )
            except InvalidInput as exc:
                self.add_error("client_secret", str(exc))
        return cleaned

    def clean_tls_ca_certificates(self) -> str:
        text = self.cleaned_data["tls_ca_certificates"]
        if "PRIVATE KEY" in text:
            # Refused by the model's validator with its message; never shown back in the page.
            self.data = self.data.copy()
            self.data["tls_ca_certificates"] = ""
        return text

    def clean_tls_ca_certificates_file(self) -> UploadedFile | None:
        # Runs after the text field (field order): an uploaded file replaces what was pasted,
        # and the model's validator then checks the certificates whichever way they came.
        upload = self.cleaned_data.get("tls_ca_certificates_file")
        if upload:
            try:
                text = ca_certificates_from_upload(upload.read(MAX_LENGTH + 1))
            except InvalidInput as exc:
                raise forms.ValidationError(str(exc)) from None
            self.cleaned_data["tls_ca_certificates"] = text
        return upload
