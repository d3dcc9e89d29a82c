"""How each directory tab is searched, filtered and sorted: FilterSets only.

Every value arrives in the query string, so a listing's whole state is its URL. What a tab
shows (its columns, CSV fields, row template) is in `listings.py`.
"""

from typing import Any, ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from dashboard.directory import selectors
from dashboard.directory.models import DirectoryEntry, EntryKind, SyncChange
from dashboard.tenants.models import Organization
from dashboard.validators import form_text_fields_guard
from integrations.threecx.models import ThreeCXConnection

YES_NO = [("yes", "Yes"), ("no", "No")]
#: Each search word is one more condition in the query: SQLite refuses a query of about a
#: thousand ("Expression tree is too large"), and nobody narrows a list with more than a few.
SEARCH_MAX_WORDS = 10
SEARCH_MAX_LENGTH = 200


class YesNoFilter(django_filters.ChoiceFilter):
    """Any / Yes / No, refusing anything else with a message saying what is accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", YES_NO)
        kwargs.setdefault("empty_label", "Any")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "“%(value)s” is not an option here: choose Any, Yes or No."},
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value not in ("yes", "no"):
            return qs
        return qs.filter(**{self.field_name: value == "yes"})


def _choice_filter(label: str, empty_label: str, **kwargs: Any) -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(
        label=label,
        empty_label=empty_label,
        choices=[],
        error_messages={
            "invalid_choice": "“%(value)s” is not in this list any more: pick one from it."
        },
        **kwargs,
    )


def search_terms_validate(value: str) -> None:
    """Refuse a search longer than SEARCH_MAX_LENGTH characters or SEARCH_MAX_WORDS words."""
    words = len(value.split())
    if words > SEARCH_MAX_WORDS:
        raise ValidationError(
            "A search can have %(limit)s words; this one has %(count)s. Keep the words that "
            "narrow the list most.",
            code="search_too_many_words",
            params={"limit": SEARCH_MAX_WORDS, "count": f"{words:,}"},
        )
    if len(value) > SEARCH_MAX_LENGTH:
        raise ValidationError(
            "A search can be %(limit)s characters long; this one has %(count)s. Shorten it.",
            code="search_too_long",
            params={"limit": SEARCH_MAX_LENGTH, "count": f"{len(value):,}"},
        )


class DescribedErrorsMixin:
    """Ties each field to the element that shows its errors (id_<name>_errors), and refuses
    control characters in text (PostgreSQL refuses NUL in a query) with a message there."""

    @property
    def form(self) -> forms.Form:
        if not hasattr(self, "_form"):
            form = super().form
            form_text_fields_guard(form)
            for name, form_field in form.fields.items():
                form_field.widget.attrs.setdefault("aria-describedby", f"id_{name}_errors")
        return self._form

    @property
    def is_filtered(self) -> bool:
        """Whether a valid value narrows the list (the sort order does not; a bad value is
        ignored, with its message)."""
        self.form.is_valid()
        return any(v not in (None, "") for k, v in self.form.cleaned_data.items() if k != "sort")


def _search_filter(label: str, **kwargs: Any) -> django_filters.CharFilter:
    return django_filters.CharFilter(
        label=label, validators=[search_terms_validate], widget=_search_input(), **kwargs
    )


def _search_input() -> forms.TextInput:
    return forms.TextInput(
        attrs={"type": "search", "autocomplete": "off", "maxlength": SEARCH_MAX_LENGTH}
    )


class EntryFilter(DescribedErrorsMixin, django_filters.FilterSet):
    """Search, the connection (across an organisation) and the sort order, for every kind."""

    q = _search_filter("Search", method="search")
    connection = _choice_filter("Connection", "All connections", field_name="connection_id")
    sort = django_filters.ChoiceFilter(
        method="sort_by",
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "“%(value)s” is not a column this list can sort by."},
    )

    #: Sort keys ("number", "-name"...) and the fields each orders by; pk breaks ties.
    sorts: ClassVar[dict[str, tuple[str, ...]]] = {"name": ("name",), "number": ("number",)}
    default_sort: ClassVar[str] = "name"
    search_hint: ClassVar[str] = "Name, number or email"
    #: Filters matching text anywhere in a value (see EntryPaginator.search_first).
    text_fields: ClassVar[tuple[str, ...]] = ("q",)

    class Meta:
        model = DirectoryEntry
        fields: ClassVar[list[str]] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[DirectoryEntry] | None = None,
        *,
        organization: Organization,
        connections: list[ThreeCXConnection],
        connection: ThreeCXConnection | None = None,
    ) -> None:
        super().__init__(data, queryset=queryset)
        self.organization = organization
        self.scope = [connection] if connection is not None else connections
        if connection is not None or len(connections) < 2:
            del self.filters["connection"]
        else:
            self.filters["connection"].extra["choices"] = [(str(c.pk), c.name) for c in connections]
        self.filters["sort"].extra["choices"] = [
            (f"{sign}{key}", key) for key in self.sorts for sign in ("", "-")
        ]
        self.filters["q"].field.widget.attrs["placeholder"] = self.search_hint

    @property
    def qs(self) -> QuerySet[DirectoryEntry]:
        if not hasattr(self, "_qs"):
            queryset = super().qs
            if not self.form.cleaned_data.get("sort"):
                queryset = self.sort_by(queryset, "sort", self.default_sort)
            self._qs = queryset
        return self._qs

    @property
    def sort_key(self) -> str:
        """The sort in force: the one asked for if valid, else the kind's default."""
        self.form.is_valid()
        return self.form.cleaned_data.get("sort") or self.default_sort

    @property
    def sort_param(self) -> str:
        """The sort given in the URL, if valid: what links and the form carry on."""
        self.form.is_valid()
        return self.form.cleaned_data.get("sort") or ""

    @property
    def searches_text(self) -> bool:
        """Whether a valid free-text condition (matched by a trigram index) is in force."""
        self.form.is_valid()
        return any((self.form.cleaned_data.get(name) or "").strip() for name in self.text_fields)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.entry_search(queryset, value)

    def sort_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        fields = self.sorts[value.removeprefix("-")]
        if value.startswith("-"):
            fields = tuple(f"-{f}" for f in fields)
        return queryset.order_by(*fields, "-pk" if value.startswith("-") else "pk")

    def values_of(self, kind: str, field_name: str) -> list[tuple[str, str]]:
        values = selectors.entry_values(
            organization=self.organization, kind=kind, field_name=field_name, connections=self.scope
        )
        return [(v, v) for v in values]


class UserFilter(EntryFilter):
    department = _choice_filter("Department", "Any department", method="in_department")
    enabled = YesNoFilter(label="Enabled")
    registered = YesNoFilter(label="Phone registered", field_name="is_registered")
    has_email = YesNoFilter(label="Has email", method="with_email")
    require_2fa = YesNoFilter(label="2FA required", field_name="require_2fa")
    admin = YesNoFilter(label="Administrator", field_name="is_admin")

    sorts: ClassVar = {
        "number": ("number",),
        "name": ("name",),
        "email": ("email",),
        "department": ("department",),
    }
    default_sort = "number"
    search_hint = "Name, extension, email, mobile or department"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["department"].extra["choices"] = self.values_of(EntryKind.GROUP, "name")

    def in_department(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.entries_in_department(queryset, department=value)

    def with_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return with_email(queryset, value)


class ContactFilter(EntryFilter):
    entry_type = _choice_filter("Contact type", "Any type", field_name="entry_type")
    has_email = YesNoFilter(label="Has email", method="with_email")
    company = _search_filter("Company", method="of_company")

    sorts: ClassVar = {
        "name": ("name",),
        "company": ("company",),
        "email": ("email",),
        "type": ("entry_type",),
    }
    search_hint = "Name, company, email or phone"
    text_fields = ("q", "company")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["entry_type"].extra["choices"] = self.values_of(
            EntryKind.CONTACT, "entry_type"
        )

    def with_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return with_email(queryset, value)

    def of_company(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.entries_of_company(queryset, value)

    def sort_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """By name, contacts without one come last (either way), ordered by the company
        they are listed under instead."""
        if value.removeprefix("-") != "name":
            return super().sort_by(queryset, name, value)
        return selectors.entries_named_first(queryset, descending=value.startswith("-"))


class DepartmentFilter(EntryFilter):
    sorts: ClassVar = {"name": ("name",), "number": ("number",), "members": ("member_count",)}
    search_hint = "Name or number"


class TargetsFilter(EntryFilter):
    """IVRs: where calls go, and whether some targets do not exist."""

    missing = YesNoFilter(label="Has missing targets", method="with_missing")

    sorts: ClassVar = {
        "number": ("number",),
        "name": ("name",),
        "type": ("entry_type",),
        "targets": ("member_count",),
        "missing": ("missing_count",),
    }
    default_sort = "number"
    search_hint = "Name or number"

    def with_missing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value not in ("yes", "no"):
            return queryset
        return selectors.entries_with_missing_targets(queryset, missing=value == "yes")


class MembersFilter(TargetsFilter):
    """Queues and ring groups: who answers, and whether some of them do not exist."""

    registered = YesNoFilter(label="Registered", field_name="is_registered")
    missing = YesNoFilter(label="Has missing members", method="with_missing")

    sorts: ClassVar = {
        "number": ("number",),
        "name": ("name",),
        "strategy": ("entry_type",),
        "members": ("member_count",),
        "missing": ("missing_count",),
    }


class TrunkFilter(EntryFilter):
    online = YesNoFilter(label="Online", field_name="is_online")

    sorts: ClassVar = {
        "number": ("number",),
        "name": ("name",),
        "direction": ("entry_type",),
        "online": ("is_online",),
    }
    default_sort = "number"
    search_hint = "Gateway, number or external number"


class ParkingFilter(EntryFilter):
    default_sort = "number"
    search_hint = "Number or name"


class InboundRuleFilter(EntryFilter):
    call_type = _choice_filter("Calls", "Any calls", field_name="entry_type")

    sorts: ClassVar = {"name": ("name",), "number": ("number",), "type": ("entry_type",)}
    search_hint = "Name or DID number"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["call_type"].extra["choices"] = self.values_of(
            EntryKind.INBOUND_RULE, "entry_type"
        )


class OutboundRuleFilter(EntryFilter):
    emergency = YesNoFilter(label="Emergency rule", method="is_emergency")

    sorts: ClassVar = {"name": ("name",), "number": ("number",), "type": ("entry_type",)}
    search_hint = "Name or prefix"

    def is_emergency(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The sync writes "Emergency" or "Standard" (sources._outbound_rule).
        if value not in ("yes", "no"):
            return queryset
        emergency = {"entry_type": "Emergency"}
        return queryset.filter(**emergency) if value == "yes" else queryset.exclude(**emergency)


class DidFilter(EntryFilter):
    sorts: ClassVar = {"number": ("number",), "template": ("entry_type",)}
    default_sort = "number"
    search_hint = "Number"


class SipDeviceFilter(EntryFilter):
    vendor = _choice_filter("Vendor", "Any vendor", field_name="entry_type")
    registered = YesNoFilter(label="Registered", field_name="is_registered")

    sorts: ClassVar = {
        "number": ("number",),
        "name": ("name",),
        "vendor": ("entry_type",),
        "registered": ("is_registered",),
    }
    default_sort = "number"
    search_hint = "Extension, vendor or model"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["vendor"].extra["choices"] = self.values_of(EntryKind.SIP_DEVICE, "entry_type")


def with_email(queryset: QuerySet, value: str) -> QuerySet:
    if value == "yes":
        return queryset.exclude(email="")
    if value == "no":
        return queryset.filter(email="")
    return queryset


class ChangeFilter(DescribedErrorsMixin, django_filters.FilterSet):
    q = _search_filter("Search", field_name="label", lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(
        label="Kind",
        choices=EntryKind.choices,
        empty_label="All kinds",
        error_messages={"invalid_choice": "“%(value)s” is not a kind of entry: pick one."},
    )
    action = django_filters.ChoiceFilter(
        label="Change",
        choices=SyncChange.Action.choices,
        empty_label="Added, changed or removed",
        error_messages={
            "invalid_choice": "“%(value)s” is not a change: choose added, changed or removed."
        },
    )

    class Meta:
        model = SyncChange
        fields: ClassVar[list[str]] = []
