from django import forms
from django.utils.text import capfirst

from dashboard.tenants.models import Organization, Role
from dashboard.validators import form_text_fields_guard


class LabelledForm(forms.Form):
    """The product's form base.

    Labels go without Django's trailing colon, which reads oddly above the field, and every
    text field refuses control characters, so no form can let NUL or a line break through.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        form_text_fields_guard(self)


class OrganizationCreateForm(LabelledForm):
    name = forms.CharField(max_length=Organization._meta.get_field("name").max_length)


class OrganizationForm(OrganizationCreateForm):
    """Not a ModelForm: the service compares old and new values to log what changed."""

    require_mfa = forms.BooleanField(
        required=False,
        label=Organization._meta.get_field("require_mfa").verbose_name.capitalize(),
        help_text=Organization._meta.get_field("require_mfa").help_text,
    )
    #: Two labelled choices rather than a checkbox: each says what it means, and a form posted
    #: without the field (another client, an older page) leaves the setting as it was.
    xapi_writes_enabled = forms.TypedChoiceField(
        required=False,
        label=capfirst(Organization._meta.get_field("xapi_writes_enabled").verbose_name),
        help_text=Organization._meta.get_field("xapi_writes_enabled").help_text,
        choices=[
            ("on", "Allowed: admins may send changes, each confirmed first and logged"),
            ("off", "Turned off: the console only reads"),
        ],
        coerce=lambda value: value == "on",
        empty_value=None,
        widget=forms.RadioSelect,
    )


class InvitationForm(LabelledForm):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, can_invite_owner: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_invite_owner:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]


class RoleForm(LabelledForm):
    role = forms.ChoiceField(choices=Role.choices)
