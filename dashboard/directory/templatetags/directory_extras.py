"""Template filters for directory entries."""

from django import template

from dashboard.directory.models import DirectoryEntry

register = template.Library()


@register.filter
def entry_label(entry: DirectoryEntry) -> str:
    """What to call an entry: its name, else (contacts often have none) its company, else
    its number; "(no name)" when it has none of these."""
    for value in (entry.name, entry.company, entry.number, entry.phone, entry.mobile):
        if value and value.strip():
            return value
    return "(no name)"
