"""Acknowledging or suppressing a finding."""

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from dashboard.validators import form_text_fields_guard

ACKNOWLEDGE = "acknowledge"
SUPPRESS = "suppress"


class FindingAcknowledgeForm(forms.Form):
    action = forms.ChoiceField(
        label="What to do",
        choices=[
            (ACKNOWLEDGE, "Acknowledge: we know, it stays in the report"),
            (SUPPRESS, "Suppress: hide it from the report (counted apart)"),
        ],
        initial=ACKNOWLEDGE,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: what the next person to read this should know.",
        error_messages={"required": "Say why: the activity log and the report show it."},
    )
    until = forms.DateField(
        label="Until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=(
            "Optional. After this day the finding is open again. Empty: until it is resolved."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_text_fields_guard(self)

    def clean_until(self):
        day = self.cleaned_data.get("until")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Pick a day after today, or leave it empty.")
        return day

    @property
    def until_time(self) -> datetime | None:
        """The end of the chosen day in the site's time zone (the next midnight)."""
        day = self.cleaned_data.get("until")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))

    @property
    def suppress(self) -> bool:
        return self.cleaned_data.get("action") == SUPPRESS
