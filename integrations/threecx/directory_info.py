"""The "Parameters" of Get Directory Info, as the automation node took them.

Users type JSON. It is checked before any request: invalid JSON is refused with the line and
column of the problem, and the parameters are validated against the spec's
`Pbx.DirectoryParameters` schema (an unknown Filesystem names the allowed values).
"""

import json
from typing import Any

from integrations.threecx import errors, spec

SCHEMA = "Pbx.DirectoryParameters"


def directory_parameters_parse(raw: str | dict[str, Any]) -> dict[str, Any]:
    """Return the request body: `{"parameters": {...}}`.

    Accepts the body itself or only its inner object (`{"Filesystem": "Local", "Path": "/"}`),
    which is wrapped.
    """
    if isinstance(raw, str):
        if not raw.strip():
            raise errors.InvalidInput(
                "Parameters are empty: give a JSON object such as "
                '{"Filesystem": "Local", "Path": "/"}.'
            )
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise errors.InvalidInput(
                f"Parameters are not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}."
            ) from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise errors.InvalidInput(
            'Parameters must be a JSON object, e.g. {"Filesystem": "Local", "Path": "/"}.'
        )
    inner = data.get("parameters", data.get("Parameters")) if len(data) == 1 else None
    if inner is None:
        inner = data
    if not isinstance(inner, dict):
        raise errors.InvalidInput('"parameters" must be a JSON object.')
    _validate(inner)
    return {"parameters": inner}


def _validate(parameters: dict[str, Any]) -> None:
    properties = spec.schema_properties(SCHEMA)
    unknown = sorted(set(parameters) - set(properties))
    if unknown:
        raise errors.InvalidInput(
            f"Unknown parameter {', '.join(unknown)}; the allowed ones are "
            f"{', '.join(sorted(properties))}.",
            target=unknown[0],
        )
    filesystem = parameters.get("Filesystem")
    allowed = spec.enum_values("Pbx.FileSystemType")
    if filesystem is None:
        raise errors.InvalidInput(
            f"Filesystem is required: one of {', '.join(allowed)}.", target="Filesystem"
        )
    if filesystem not in allowed:
        raise errors.InvalidInput(
            f"Filesystem {filesystem!r} is not one of {', '.join(allowed)}.", target="Filesystem"
        )
    for name in ("Path", "Json"):
        value = parameters.get(name)
        if value is not None and not isinstance(value, str):
            raise errors.InvalidInput(f"{name} must be text (a JSON string) or null.", target=name)
