import pytest
from django import forms
from django.core.exceptions import ValidationError

from dashboard.tenants.forms import LabelledForm
from dashboard.validators import ControlCharacterValidator, control_characters_replace


class NoteForm(LabelledForm):
    title = forms.CharField()
    note = forms.CharField(widget=forms.Textarea, required=False)
    count = forms.IntegerField(required=False)


@pytest.mark.parametrize(
    "text", ["Acme\r\nBcc: x", "Acme\x00", "\x1b[31mAcme", "Acme\x85", "A\u2028B"]
)
def test_it_refuses_control_characters_in_a_single_line(text):
    with pytest.raises(ValidationError, match="Name contains a"):
        ControlCharacterValidator(label="Name")(text)


def test_it_accepts_ordinary_text_of_any_script():
    ControlCharacterValidator(label="Name")("Zürich Büro, 東京 & Co. (main)")


def test_a_multi_line_field_keeps_line_breaks_and_tabs_but_not_nul():
    validator = ControlCharacterValidator(label="Note", multi_line=True)
    validator("first line\r\n\tsecond line")
    with pytest.raises(ValidationError) as refused:
        validator("first\x00")
    assert refused.value.messages == [
        "Note contains a control character (U+0000); remove it. "
        "Only printable text is accepted here."
    ]


def test_every_text_field_of_a_product_form_gets_the_rule_named_after_its_label():
    form = NoteForm({"title": "Hi\x00", "note": "one\r\ntwo\x07", "count": "1"})
    assert not form.is_valid()
    assert form.errors["title"] == [
        "Title contains a control character (U+0000); remove it. "
        "Only printable text is accepted here."
    ]
    assert form.errors["note"][0].startswith("Note contains a control character (U+0007)")
    assert NoteForm({"title": "Hi", "note": "one\r\ntwo"}).is_valid()


def test_stored_text_is_put_on_one_line_for_headers():
    assert control_characters_replace("Acme\r\nBcc: x") == "Acme  Bcc: x"
