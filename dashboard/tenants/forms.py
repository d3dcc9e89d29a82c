from django import forms

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


class InvitationForm(LabelledForm):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, can_invite_owner: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_invite_owner:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]


class RoleForm(LabelledForm):
    role = forms.ChoiceField(choices=Role.choices)
