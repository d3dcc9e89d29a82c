"""How a report's findings and the provider roll-up are searched, filtered and sorted.

Every value arrives in the query string, so a report's whole state is its URL.
"""

from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import QuerySet

from dashboard.directory.filters import (
    SEARCH_MAX_LENGTH,
    DescribedErrorsMixin,
    search_terms_validate,
)
from dashboard.reports import selectors
from dashboard.reports.models import Finding, Severity
from dashboard.reports.rules import RULES
from dashboard.validators import form_text_fields_guard
from integrations.threecx.models import ThreeCXConnection

STATUS_DEFAULT_LABEL = "Open and acknowledged"
SORTS = (
    ("severity", "Severity"),
    ("count", "Most findings"),
    ("rule", "Rule"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
)
ROLLUP_HAVING = (
    ("critical", "Critical findings"),
    ("high", "High or critical findings"),
    ("failures", "Failed syncs"),
    ("licence", "Licence expiring within 30 days"),
)


def _search() -> django_filters.CharFilter:
    return django_filters.CharFilter(
        label="Search",
        method="search",
        validators=[search_terms_validate],
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "maxlength": SEARCH_MAX_LENGTH}
        ),
    )


def _choice(label: str, empty_label: str | None, choices: Any, **kwargs: Any):
    return django_filters.ChoiceFilter(
        label=label,
        empty_label=empty_label,
        choices=choices,
        error_messages={"invalid_choice": "“%(value)s” is not one of the choices: pick one."},
        **kwargs,
    )


class FindingFilter(DescribedErrorsMixin, django_filters.FilterSet):
    """A report's findings. Without a status, those still open or acknowledged: suppressed
    ones are hidden (and counted apart), resolved ones are history."""

    q = _search()
    severity = _choice("Severity", "Any severity", Severity.choices)
    rule = _choice("Rule", "Any rule", [], field_name="rule")
    status = _choice("Status", STATUS_DEFAULT_LABEL, Finding.State.choices, field_name="state")
    connection = _choice("Connection", "All connections", [], field_name="connection_id")
    sort = _choice("Sort by", None, SORTS, method="sort_by")

    default_sort: ClassVar[str] = "severity"

    class Meta:
        model = Finding
        fields: ClassVar[list[str]] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Finding] | None = None,
        *,
        connections: list[ThreeCXConnection],
        connection: ThreeCXConnection | None = None,
    ) -> None:
        super().__init__(data, queryset=queryset)
        if connection is not None or len(connections) < 2:
            del self.filters["connection"]
        else:
            self.filters["connection"].extra["choices"] = [(str(c.pk), c.name) for c in connections]
        self.filters["rule"].extra["choices"] = [
            (rule.id, rule.title) for rule in sorted(RULES, key=lambda r: (r.category, r.title))
        ]
        self.filters["q"].field.widget.attrs["placeholder"] = "Summary, entry or rule"

    @property
    def qs(self) -> QuerySet[Finding]:
        if not hasattr(self, "_qs"):
            queryset = super().qs
            self.form.is_valid()
            if not self.form.cleaned_data.get("status"):
                queryset = queryset.filter(state__in=selectors.ACTIVE_STATES)
            self._qs = queryset
        return self._qs

    @property
    def sort_key(self) -> str:
        self.form.is_valid()
        return self.form.cleaned_data.get("sort") or self.default_sort

    @property
    def status_value(self) -> str:
        """The status asked for; "" for the default (open and acknowledged)."""
        self.form.is_valid()
        return self.form.cleaned_data.get("status") or ""

    @property
    def rule_id(self) -> str:
        self.form.is_valid()
        return self.form.cleaned_data.get("rule") or ""

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.finding_search(queryset, value)

    def sort_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Groups are sorted by the view; a flat list by selectors.findings_ordered.
        return queryset


class RollupForm(forms.Form):
    """The provider roll-up: search by organisation name, narrow to those with a problem,
    sort by a column."""

    q = forms.CharField(
        label="Search",
        required=False,
        validators=[search_terms_validate],
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "maxlength": SEARCH_MAX_LENGTH,
                "placeholder": "Organisation name",
            }
        ),
    )
    having = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "All organisations"), *ROLLUP_HAVING],
        error_messages={"invalid_choice": "“%(value)s” is not one of the choices: pick one."},
    )
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[(f"{sign}{key}", key) for key in selectors.ROLLUP_SORTS for sign in ("", "-")],
        error_messages={"invalid_choice": "“%(value)s” is not a column this list can sort by."},
    )

    default_sort: ClassVar[str] = "-critical"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_text_fields_guard(self)
        for name, form_field in self.fields.items():
            form_field.widget.attrs.setdefault("aria-describedby", f"id_{name}_errors")

    def value(self, name: str) -> str:
        """A valid value of the field, else "" (an invalid one is ignored, with its message)."""
        self.is_valid()
        return self.cleaned_data.get(name) or ""

    @property
    def sort_key(self) -> str:
        return self.value("sort") or self.default_sort

    @property
    def is_filtered(self) -> bool:
        return bool(self.value("q").strip() or self.value("having"))

    def organizations(self) -> QuerySet:
        return selectors.rollup_list(
            search=self.value("q"), having=self.value("having"), sort=self.sort_key
        )
