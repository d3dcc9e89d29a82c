"""The form of one operation, generated from the spec: a field per path and query parameter
and, when it takes one, a JSON body editor.

Everything is checked here, in the web request, before anything is recorded or queued:
text with control characters, and then the request against the spec (`request_prepare`),
each error put beside the field it names.
"""

from typing import Any

from django import forms

from dashboard.console.docs import ParameterDoc, parameter_docs
from dashboard.validators import form_text_fields_guard
from integrations.threecx.operations.catalogue import Operation, Parameter
from integrations.threecx.operations.requests import (
    InvalidRequest,
    PreparedRequest,
    example_arguments,
    request_prepare,
)

BODY = "body"
#: Kinds of parameter answered with a choice rather than typed.
CHOICE_KINDS = frozenset({"boolean", "odata-bool"})
#: Longest a parameter's text may be: far beyond any real value, short of a URL's limits.
PARAMETER_MAX_LENGTH = 4_000
#: The body may be a big bulk update, not a dump.
BODY_MAX_LENGTH = 1_000_000


class OperationForm(forms.Form):
    """Field names are the parameters' own ("Id", "$filter"), so that a posted form reads
    like the request; the body is "body" (no parameter of the spec is named so)."""

    def __init__(self, *args: Any, operation: Operation, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.operation = operation
        self.prepared: PreparedRequest | None = None
        example_params, example_body = example_arguments(operation)
        self.docs = parameter_docs(operation)
        for doc in self.docs:
            name = doc.parameter.name
            self.fields[name] = _parameter_field(
                doc.parameter, help_text=doc.help, example=example_params.get(name, "")
            )
        if operation.body_schema is not None:
            self.fields[BODY] = forms.CharField(
                label="Request body (JSON)",
                required=False,
                strip=False,
                max_length=BODY_MAX_LENGTH,
                initial=example_body or "",
                help_text="Checked against the spec before anything is sent."
                + ("" if operation.body_required else " Leave it empty to send no body."),
                widget=forms.Textarea(
                    attrs={
                        "rows": 12,
                        "class": "code-input",
                        "spellcheck": "false",
                        "autocapitalize": "off",
                        "autocomplete": "off",
                    }
                ),
            )
        form_text_fields_guard(self)

    @property
    def parameter_rows(self) -> list[tuple[forms.BoundField, ParameterDoc]]:
        """Each parameter's field with what the page says about it."""
        return [(self[doc.parameter.name], doc) for doc in self.docs]

    @property
    def body_field(self) -> forms.BoundField | None:
        return self[BODY] if BODY in self.fields else None

    def clean(self) -> dict[str, Any]:
        """Check the request against the spec, every problem at once: a field already
        refused here (a control character) is not reported twice."""
        cleaned = super().clean()
        refused = set(self.errors)
        try:
            prepared = request_prepare(self.operation, params=self.params(), body=self.body())
        except InvalidRequest as exc:
            for error in exc.errors:
                if self._error_field(error.field) not in refused:
                    self._error_place(error.field, error.message)
            return cleaned
        if not refused:
            self.prepared = prepared
        return cleaned

    def full_clean(self) -> None:
        """After a refused submission the form is swapped in anew: put the cursor on the
        first problem."""
        super().full_clean()
        invalid = [name for name in self.errors if name in self.fields]
        if invalid:
            self.fields[invalid[0]].widget.attrs["autofocus"] = True

    def params(self) -> dict[str, str]:
        """The parameters as typed, for `request_prepare` (empty: not given)."""
        return {
            parameter.name: self.cleaned_data.get(parameter.name) or ""
            for parameter in self.operation.parameters
        }

    def body(self) -> str | None:
        return self.cleaned_data.get(BODY) or None

    def _error_field(self, field: str) -> str | None:
        """The form field an error of `request_prepare` is about (None: the whole form)."""
        if field in self.fields:
            return field
        if field.startswith((BODY + ".", BODY + "[")) and BODY in self.fields:
            return BODY
        return None

    def _error_place(self, field: str, message: str) -> None:
        target = self._error_field(field)
        if target == BODY and field != BODY:
            message = f"{field[len(BODY) :].lstrip('.')}: {message}"
        elif target is None and field:
            message = f"{field}: {message}"
        self.add_error(target, message)


def _parameter_field(parameter: Parameter, *, help_text: str, example: str) -> forms.Field:
    label = parameter.name
    values = parameter.schema.get("enum")
    if parameter.kind in CHOICE_KINDS or values:
        options = [str(value) for value in values] if values else ["true", "false"]
        empty = ("", "Choose…" if parameter.required else "—")
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[empty, *((option, option) for option in options)],
            help_text=help_text,
        )
    attrs = {"spellcheck": "false", "autocapitalize": "off", "autocomplete": "off"}
    if example:
        attrs["placeholder"] = example
    if parameter.kind in ("integer", "number"):
        attrs["inputmode"] = "numeric" if parameter.kind == "integer" else "decimal"
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        max_length=PARAMETER_MAX_LENGTH,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )
