"""Template filters for audit reports."""

import re
from datetime import timedelta
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime

from dashboard.reports.models import Severity
from dashboard.reports.rules import rule_get
from dashboard.reports.selectors import findings_of_entry

register = template.Library()

_SEVERITY_LABELS = dict(Severity.choices)
#: An ISO date or date-time as rules store them in a finding's details ("2026-12-22T00:00:00Z").
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


@register.filter
def severity_label(severity: str) -> str:
    return _SEVERITY_LABELS.get(severity, severity)


@register.filter
def last_day(until):
    """The day an acknowledgement lasts through: it is stored as the next midnight."""
    if until is None:
        return None
    return timezone.localtime(until - timedelta(microseconds=1)).date()


@register.filter
def rule_title(rule_id: str) -> str:
    """A rule's title from the catalogue; its id if the catalogue no longer has it."""
    rule = rule_get(rule_id)
    return rule.title if rule is not None else rule_id


@register.simple_tag
def entry_findings(entry) -> list:
    """The unresolved findings about a directory entry, for its page: the directory app sits
    below this one and does not import it."""
    return findings_of_entry(
        connection=entry.connection, kind=entry.kind, external_id=entry.external_id
    )


@register.filter
def detail_name(name: str) -> str:
    """A key of a finding's details as a label: "target_number" -> "Target number"."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def detail_text(value: Any) -> str:
    """A value of a finding's details as the reader wants it, not as Python writes it: lists
    comma-joined, Yes/No, dates in the house format, thousands separated; "" for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, str):
        return _time_text(value) if _ISO_TIME.fullmatch(value) else value
    if isinstance(value, dict):
        return _mapping_text(value)
    if isinstance(value, list | tuple | set):
        items = sorted(value) if isinstance(value, set) else value
        return ", ".join(text for text in map(detail_text, items) if text)
    return str(value)


def _time_text(value: str) -> str:
    moment = parse_datetime(value)
    if moment is not None:
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "DATETIME_FORMAT")
    day = parse_date(value)
    return formats.date_format(day, "DATE_FORMAT") if day is not None else value


def _mapping_text(value: dict) -> str:
    """A contact ({"name", "number", ...}), a setting ({"label", "value", "default"}), or
    several of these keyed by their id."""
    if value and all(isinstance(item, dict) for item in value.values()):
        return "; ".join(text for text in map(_mapping_text, value.values()) if text)
    if "label" in value and "value" in value:
        text = f"{value['label']}: {detail_text(value['value'])}"
        return text + (f" (default {detail_text(value['default'])})" if "default" in value else "")
    if "name" in value or "number" in value:
        name = value.get("name") or (
            f"#{value['external_id']}" if value.get("external_id") is not None else ""
        )
        number = detail_text(value.get("number"))
        return f"{name} ({number})" if name and number else name or number
    return "; ".join(
        f"{detail_name(key)}: {detail_text(item)}" for key, item in value.items() if item != ""
    )
