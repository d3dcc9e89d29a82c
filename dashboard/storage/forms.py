"""What the storage browser takes: a file system and a path, or the raw Parameters JSON.

Both are checked here, in the web request, before anything is queued: invalid JSON, an
unknown file system and control characters (PostgreSQL refuses NUL in text) need no PBX to be
refused.
"""

import json
from typing import Any

from django import forms

from dashboard.validators import ControlCharacterValidator, form_text_fields_guard
from integrations.threecx import errors, spec
from integrations.threecx.directory_info import directory_parameters_parse

#: How people name the spec's Pbx.FileSystemType values; an unknown value shows as it is.
FILESYSTEM_LABELS = {
    "Local": "Local disk",
    "Ftp": "FTP",
    "GoogleDrive": "Google Drive",
    "NetworkShare": "Network share (SMB)",
    "Logs": "Logs",
    "Sftp": "SFTP",
    "GoogleBucket": "Google Cloud Storage bucket",
    "SharePoint": "SharePoint",
    "AmazonS3": "Amazon S3",
}
PATH_MAX_LENGTH = 4096
PARAMETERS_EXAMPLE = '{"parameters": {"Filesystem": "Local", "Path": "/"}}'


def filesystem_choices() -> list[tuple[str, str]]:
    return [
        (value, FILESYSTEM_LABELS.get(value, value))
        for value in spec.enum_values("Pbx.FileSystemType")
    ]


class _FocusFirstError(forms.Form):
    """After a refused submission the form is swapped in anew: put the cursor on the problem.

    Text refuses control characters, with a message naming the field.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_text_fields_guard(self)

    def full_clean(self) -> None:
        super().full_clean()
        invalid = [name for name in self.errors if name in self.fields]
        if invalid:
            self.fields[invalid[0]].widget.attrs["autofocus"] = True


class BrowseForm(_FocusFirstError):
    filesystem = forms.CharField(label="File system", required=False, widget=forms.Select)
    path = forms.CharField(
        required=False,
        max_length=PATH_MAX_LENGTH,
        help_text="Leave empty for the top folder.",
        widget=forms.TextInput(attrs={"placeholder": "/", "spellcheck": "false"}),
    )
    root = forms.CharField(required=False, max_length=PATH_MAX_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["filesystem"].widget.choices = filesystem_choices()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        parameters = {"Filesystem": cleaned.get("filesystem") or None, "Path": cleaned["path"]}
        try:
            directory_parameters_parse(parameters)
        except errors.InvalidInput as exc:
            field = "path" if exc.target == "Path" else "filesystem"
            self.add_error(field, exc.message)
        return cleaned

    def browse_arguments(self) -> dict[str, str]:
        """Keyword arguments for `storage_browse_request`."""
        return {
            "filesystem": self.cleaned_data["filesystem"],
            "path": self.cleaned_data["path"],
            "root": self.cleaned_data["root"],
        }


class ParametersForm(_FocusFirstError):
    """The Advanced panel: Parameters typed as the automation node took them."""

    parameters = forms.CharField(
        label="Parameters (JSON)",
        required=False,
        strip=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    root = forms.CharField(required=False, max_length=PATH_MAX_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parameters"].help_text = (
            f"The request body, e.g. {PARAMETERS_EXAMPLE}, or only the inner object. Filesystem "
            f"is one of {', '.join(spec.enum_values('Pbx.FileSystemType'))}."
        )

    def clean_parameters(self) -> str:
        raw = _filesystem_respelled(self.cleaned_data["parameters"])
        try:
            self.body = directory_parameters_parse(raw)
        except errors.InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        _control_characters_refuse(self.body["parameters"])
        return raw

    def browse_arguments(self) -> dict[str, str]:
        inner = self.body["parameters"]
        return {
            "filesystem": inner["Filesystem"],
            "path": inner.get("Path") or "",
            "root": self.cleaned_data["root"],
            "raw_parameters": self.cleaned_data["parameters"],
        }


def _filesystem_respelled(raw: str) -> str:
    """`raw` with its Filesystem spelled as 3CX spells it ("ftp", "FTP" -> "Ftp"): people type
    the names as they say them, and 3CX refuses any other spelling. Anything else that is
    wrong is left for the parser to explain."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return raw
    inner = data.get("parameters", data.get("Parameters")) if len(data) == 1 else None
    inner = inner if isinstance(inner, dict) else data
    typed = inner.get("Filesystem")
    if not isinstance(typed, str):
        return raw
    spelled = {value.casefold(): value for value in spec.enum_values("Pbx.FileSystemType")}
    wanted = spelled.get(typed.strip().casefold(), typed)
    if wanted == typed:
        return raw
    inner["Filesystem"] = wanted
    return json.dumps(data, ensure_ascii=False)


def _control_characters_refuse(parameters: dict[str, Any]) -> None:
    """JSON escapes (\\u0000) let control characters through the text field's own check: refuse
    them in the values. "Json" is a JSON document of its own and may span lines."""
    for name, value in parameters.items():
        if isinstance(value, str):
            ControlCharacterValidator(label=name, multi_line=name == "Json")(value)
