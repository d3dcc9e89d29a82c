from datetime import date

from django import template
from django.utils.dateparse import parse_date, parse_datetime

from dashboard.connections.selectors import ConnectionCard, connection_cards, sparkline
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
    EntryKind.INBOUND_RULE: "Inbound rules",
    EntryKind.OUTBOUND_RULE: "Outbound rules",
    EntryKind.DID: "DIDs",
    EntryKind.SIP_DEVICE: "SIP devices",
}


@register.simple_tag
def connection_cards_of(organization) -> list[ConnectionCard]:
    """The organisation's connection cards, for the organisation's home page: the tenants app
    sits below this one and does not import it."""
    return connection_cards(organization=organization)


@register.filter
def kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind)


@register.filter
def counts_in_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    """A directory's counts per kind in the directory's own order (users first), whatever
    order the database grouped them in."""
    order = {kind: index for index, kind in enumerate(EntryKind)}
    return sorted((counts or {}).items(), key=lambda item: order.get(item[0], len(order)))


@register.filter
def sparkline_points(history) -> str:
    return sparkline([total for _, total in history])


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dict keys that are not valid template identifiers."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def check_value(value):
    """A SystemStatus value as people read it: dates as dates, booleans as yes/no."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        parsed = parse_datetime(value) or parse_date(value[:10])
        if parsed is not None:
            day = parsed.date() if hasattr(parsed, "date") else parsed
            days = (day - date.today()).days
            when = f"in {days} days" if days >= 0 else f"{-days} days ago"
            return f"{day:%d %b %Y} ({when})"
    return value
