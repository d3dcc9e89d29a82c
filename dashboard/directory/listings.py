"""What each directory tab shows: its entries' kind, FilterSet, columns and CSV export.

`LISTINGS` maps the URL's kind ("users", "ring-groups"...) to a `Listing`; `PageSizeForm`
reads the rows per page from the query string.
"""

from dataclasses import dataclass

from django import forms

from dashboard.directory.filters import (
    ContactFilter,
    DepartmentFilter,
    DidFilter,
    EntryFilter,
    InboundRuleFilter,
    MembersFilter,
    OutboundRuleFilter,
    ParkingFilter,
    SipDeviceFilter,
    TargetsFilter,
    TrunkFilter,
    UserFilter,
)
from dashboard.directory.models import EntryKind

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50


class PageSizeForm(forms.Form):
    per_page = forms.TypedChoiceField(
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_PAGE_SIZE,
        error_messages={
            "invalid_choice": (
                f"“%(value)s” rows per page is not offered: choose one of "
                f"{', '.join(map(str, PAGE_SIZES))}. Showing {DEFAULT_PAGE_SIZE}."
            )
        },
    )

    @property
    def page_size(self) -> int:
        return self.cleaned_data["per_page"] if self.is_valid() else DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Column:
    label: str
    #: The sort key in the FilterSet's `sorts`, or "" for a column that does not sort.
    sort: str = ""


@dataclass(frozen=True)
class Listing:
    kind: str
    slug: str
    label: str
    filterset: type[EntryFilter]
    columns: tuple[Column, ...]
    #: (header, attribute) of the export's columns (`dashboard.directory.exports`).
    csv_fields: tuple[tuple[str, str], ...]
    #: What an entry of this kind is called in sentences ("ring group").
    noun: str
    nouns: str

    @property
    def row_template(self) -> str:
        shared = self.kind in (EntryKind.QUEUE, EntryKind.RING_GROUP, EntryKind.IVR)
        return f"directory/rows/_{'members' if shared else self.kind}.html"


_NUMBER_NAME = (("Number", "number"), ("Name", "name"))
_GROUPS = (("Strategy", "entry_type"), ("Registered", "is_registered"))
_COUNTS = (("Members", "member_count"), ("Missing members", "missing_count"))

LISTINGS: dict[str, Listing] = {
    listing.slug: listing
    for listing in (
        Listing(
            kind=EntryKind.USER,
            slug="users",
            label="Users",
            filterset=UserFilter,
            noun="user",
            nouns="users",
            columns=(
                Column("Ext.", "number"),
                Column("Name", "name"),
                Column("Email", "email"),
                Column("Department", "department"),
                Column("Mobile"),
                Column("Status"),
            ),
            csv_fields=(
                *_NUMBER_NAME,
                ("First name", "first_name"),
                ("Last name", "last_name"),
                ("Email", "email"),
                ("Department", "department"),
                ("Mobile", "mobile"),
                ("Caller ID", "phone"),
                ("Enabled", "enabled"),
                ("Registered", "is_registered"),
                ("2FA required", "require_2fa"),
                ("Administrator", "is_admin"),
            ),
        ),
        Listing(
            kind=EntryKind.GROUP,
            slug="departments",
            label="Departments",
            filterset=DepartmentFilter,
            noun="department",
            nouns="departments",
            columns=(
                Column("Name", "name"),
                Column("Number", "number"),
                Column("Members", "members"),
            ),
            csv_fields=(*_NUMBER_NAME, ("Members", "member_count")),
        ),
        Listing(
            kind=EntryKind.CONTACT,
            slug="contacts",
            label="Contacts",
            filterset=ContactFilter,
            noun="contact",
            nouns="contacts",
            columns=(
                Column("Name", "name"),
                Column("Company", "company"),
                Column("Email", "email"),
                Column("Phone"),
                Column("Mobile"),
                Column("Type", "type"),
            ),
            csv_fields=(
                ("Name", "name"),
                ("First name", "first_name"),
                ("Last name", "last_name"),
                ("Company", "company"),
                ("Department", "department"),
                ("Email", "email"),
                ("Phone", "phone"),
                ("Mobile", "mobile"),
                ("Type", "entry_type"),
            ),
        ),
        Listing(
            kind=EntryKind.QUEUE,
            slug="queues",
            label="Queues",
            filterset=MembersFilter,
            noun="queue",
            nouns="queues",
            columns=(
                Column("Number", "number"),
                Column("Name", "name"),
                Column("Strategy", "strategy"),
                Column("Agents", "members"),
                Column("Missing agents", "missing"),
            ),
            csv_fields=(*_NUMBER_NAME, *_GROUPS, ("Agents", "member_count"), _COUNTS[1]),
        ),
        Listing(
            kind=EntryKind.RING_GROUP,
            slug="ring-groups",
            label="Ring groups",
            filterset=MembersFilter,
            noun="ring group",
            nouns="ring groups",
            columns=(
                Column("Number", "number"),
                Column("Name", "name"),
                Column("Strategy", "strategy"),
                Column("Members", "members"),
                Column("Missing members", "missing"),
            ),
            csv_fields=(*_NUMBER_NAME, *_GROUPS, *_COUNTS),
        ),
        Listing(
            kind=EntryKind.IVR,
            slug="ivrs",
            label="IVRs",
            filterset=TargetsFilter,
            noun="IVR",
            nouns="IVRs",
            columns=(
                Column("Number", "number"),
                Column("Name", "name"),
                Column("Type", "type"),
                Column("Targets", "targets"),
                Column("Missing targets", "missing"),
            ),
            csv_fields=(
                *_NUMBER_NAME,
                ("Type", "entry_type"),
                ("Targets", "member_count"),
                ("Missing targets", "missing_count"),
            ),
        ),
        Listing(
            kind=EntryKind.TRUNK,
            slug="trunks",
            label="Trunks",
            filterset=TrunkFilter,
            noun="trunk",
            nouns="trunks",
            columns=(
                Column("Number", "number"),
                Column("Gateway", "name"),
                Column("External number"),
                Column("Direction", "direction"),
                Column("Online", "online"),
            ),
            csv_fields=(
                *_NUMBER_NAME,
                ("External number", "phone"),
                ("Direction", "entry_type"),
                ("Online", "is_online"),
            ),
        ),
        Listing(
            kind=EntryKind.PARKING,
            slug="parkings",
            label="Parkings",
            filterset=ParkingFilter,
            noun="parking",
            nouns="parkings",
            columns=(Column("Number", "number"), Column("Name", "name")),
            csv_fields=_NUMBER_NAME,
        ),
        Listing(
            kind=EntryKind.INBOUND_RULE,
            slug="inbound-rules",
            label="Inbound rules",
            filterset=InboundRuleFilter,
            noun="inbound rule",
            nouns="inbound rules",
            columns=(
                Column("Name", "name"),
                Column("DID or mask", "number"),
                Column("Calls", "type"),
            ),
            csv_fields=(("Name", "name"), ("DID or mask", "number"), ("Calls", "entry_type")),
        ),
        Listing(
            kind=EntryKind.OUTBOUND_RULE,
            slug="outbound-rules",
            label="Outbound rules",
            filterset=OutboundRuleFilter,
            noun="outbound rule",
            nouns="outbound rules",
            columns=(
                Column("Name", "name"),
                Column("Prefix", "number"),
                Column("Type", "type"),
            ),
            csv_fields=(("Name", "name"), ("Prefix", "number"), ("Type", "entry_type")),
        ),
        Listing(
            kind=EntryKind.DID,
            slug="dids",
            label="DIDs",
            filterset=DidFilter,
            noun="DID number",
            nouns="DID numbers",
            columns=(Column("Number", "number"), Column("Template", "template")),
            csv_fields=(("Number", "number"), ("Template", "entry_type")),
        ),
        Listing(
            kind=EntryKind.SIP_DEVICE,
            slug="sip-devices",
            label="SIP devices",
            filterset=SipDeviceFilter,
            noun="SIP device",
            nouns="SIP devices",
            columns=(
                Column("Ext.", "number"),
                Column("Device", "name"),
                Column("Vendor", "vendor"),
                Column("Registered", "registered"),
            ),
            csv_fields=(
                ("Extension", "number"),
                ("Device", "name"),
                ("Vendor", "entry_type"),
                ("Registered", "is_registered"),
            ),
        ),
    )
}

LISTING_FOR_KIND: dict[str, Listing] = {listing.kind: listing for listing in LISTINGS.values()}
