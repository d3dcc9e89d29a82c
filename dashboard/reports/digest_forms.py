from django import forms

from dashboard.reports.models import DigestSubscription
from dashboard.tenants.forms import LabelledForm

OFF = "off"


class DigestForm(LabelledForm):
    frequency = forms.ChoiceField(
        label="Email me a digest",
        choices=[(OFF, "Off"), *DigestSubscription.Frequency.choices],
        widget=forms.RadioSelect,
        initial=OFF,
    )

    def frequency_chosen(self) -> str | None:
        """The chosen frequency; None for off."""
        value = self.cleaned_data["frequency"]
        return None if value == OFF else value
