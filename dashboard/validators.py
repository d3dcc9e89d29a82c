"""Text that people type: refuse control characters before they reach the database or a header.

PostgreSQL refuses NUL in text (a 500 if it gets that far), and a CR or LF in a name breaks
every email header the name is put in. One rule for every text field of the product's forms:
single-line fields take no control character at all; multi-line fields (a textarea) may also
hold line breaks and tabs.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.forms.utils import pretty_name

#: C0 controls, DEL, C1 controls and the Unicode line separators (they break a line like LF).
_SINGLE_LINE_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: The same without tab, LF and CR (browsers send a textarea's line breaks as CR LF).
_MULTI_LINE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = "\r\n\u2028\u2029"


class ControlCharacterValidator:
    """Refuse control characters, naming the field (`label`) in the message."""

    code = "control_character"

    def __init__(self, *, label: str = "This field", multi_line: bool = False) -> None:
        self.label = label
        self.multi_line = multi_line

    def __call__(self, value: object) -> None:
        found = control_character_find(str(value), multi_line=self.multi_line)
        if found is None:
            return
        kind = (
            "a line break" if found in _LINE_BREAKS else f"a control character (U+{ord(found):04X})"
        )
        raise ValidationError(
            "%(label)s contains %(kind)s; remove it. Only printable text is accepted here.",
            code=self.code,
            params={"label": self.label, "kind": kind},
        )


def control_character_find(text: str, *, multi_line: bool = False) -> str | None:
    """The first forbidden character of `text`, or None."""
    forbidden = _MULTI_LINE_FORBIDDEN if multi_line else _SINGLE_LINE_FORBIDDEN
    match = forbidden.search(text)
    return match.group() if match else None


def control_characters_replace(text: str) -> str:
    """`text` on one line, each control character a space: for headers built from stored text."""
    return _SINGLE_LINE_FORBIDDEN.sub(" ", text)


def form_text_fields_guard(form: forms.BaseForm) -> None:
    """Give every text field of `form` the control-character rule, named after its label.

    Django's own NUL check is dropped: its message does not say which field is wrong.
    """
    for name, field in form.fields.items():
        if not isinstance(field, forms.CharField):
            continue
        field.validators = [
            v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        field.validators.append(
            ControlCharacterValidator(
                label=str(field.label or pretty_name(name)),
                multi_line=isinstance(field.widget, forms.Textarea),
            )
        )
