from django import template

from dashboard.connections.selectors import sparkline
from dashboard.directory.models import EntryKind

register = template.Library()

_KIND_LABELS = {
    EntryKind.USER: "Users",
    EntryKind.GROUP: "Departments",
    EntryKind.CONTACT: "Contacts",
    EntryKind.QUEUE: "Queues",
    EntryKind.RING_GROUP: "Ring groups",
    EntryKind.IVR: "IVRs",
    EntryKind.TRUNK: "Trunks",
    EntryKind.PARKING: "Parkings",
}


@register.filter
def kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind)


@register.filter
def sparkline_points(history) -> str:
    return sparkline([total for _, total in history])


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dict keys that are not valid template identifiers."""
    return mapping.get(key) if hasattr(mapping, "get") else None
