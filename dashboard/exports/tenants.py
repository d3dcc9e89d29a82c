"""The tenants app's tables as exports: the activity log and the members list.

Each source rebuilds its page's table from the same selector the page reads, so an export
holds exactly the rows, order and columns the page shows, every page of them.
"""

from typing import Any

from django.db.models import Max
from django.http import Http404
from django.utils.text import slugify

from dashboard.exports.sources import ExportScope, ExportSource
from dashboard.exports.tables import CellType, ExportColumn, ExportTable
from dashboard.tenants import selectors
from dashboard.tenants.access import (
    OrganizationAccess,
    organization_access_get,
    organization_access_require,
)
from dashboard.tenants.filters import ActivityFilter
from dashboard.tenants.models import Activity, Organization, Role

__all__ = ["ACTIVITY", "MEMBERS", "activity_details_words"]

#: Rows fetched per database round trip while streaming.
CHUNK_SIZE = 2000


def activity_details_words(details: dict[str, Any]) -> str:
    """An activity entry's details as a sentence fragment: "viewer → admin", "name: Old →
    New", "base url: https://pbx.example.com; secret changed: yes"."""
    parts = []
    if "from" in details or "to" in details:
        parts.append(f"{_words(details.get('from'))} → {_words(details.get('to'))}")
    for key, value in details.items():
        if key in ("from", "to"):
            continue
        if key == "changes" and isinstance(value, dict):
            # organization.updated writes {"field": [before, after]}.
            parts.extend(f"{_key(name)}: {_change_words(change)}" for name, change in value.items())
        else:
            parts.append(f"{_key(key)}: {_words(value)}")
    return "; ".join(parts)


ACTIVITY_COLUMNS = (
    ExportColumn("When", lambda entry: entry.created_at, CellType.DATETIME),
    ExportColumn("Who", lambda entry: entry.actor_label),
    ExportColumn("What", lambda entry: entry.action_label),
    ExportColumn("Details", lambda entry: activity_details_words(entry.details or {})),
    ExportColumn("Target", lambda entry: entry.target_label),
    ExportColumn("From", lambda entry: entry.ip_address),
)

#: "All fields": what the log stores besides what the page shows.
ACTIVITY_STORED_COLUMNS = (
    ExportColumn("Action", lambda entry: entry.action),
    ExportColumn("Target type", lambda entry: entry.target_type),
    ExportColumn("Target ID", lambda entry: entry.target_id),
    # A dict: the writers put it as JSON.
    ExportColumn("Details (JSON)", lambda entry: entry.details or None),
)

MEMBER_COLUMNS = (
    ExportColumn("Email", lambda membership: membership.user.email),
    ExportColumn("Name", lambda membership: membership.user.get_full_name()),
    ExportColumn("Role", lambda membership: membership.get_role_display()),
    ExportColumn("Since", lambda membership: membership.created_at, CellType.DATETIME),
)


def activity_table(scope: ExportScope) -> ExportTable:
    """The activity log as its page shows it for `scope.params`: admins and owners only, as
    the page (PermissionDenied for viewers and provider staff, Http404 for outsiders)."""
    access = _access(scope, Role.ADMIN)
    organization = access.organization
    activity_filter = selectors.activity_filter(organization=organization, params=scope.params)
    # The log as it stood when the export was asked for: making the export adds an entry to
    # the log, which must be neither in the file nor in the row count it records.
    newest = activity_filter.qs.aggregate(newest=Max("pk"))["newest"]
    entries = activity_filter.qs.filter(pk__lte=newest) if newest else Activity.objects.none()
    columns = ACTIVITY_COLUMNS + (ACTIVITY_STORED_COLUMNS if scope.all_fields else ())
    return ExportTable(
        title=f"Activity of {organization.name}",
        slug=f"{_slug(organization)}-activity",
        columns=columns,
        rows=lambda: entries.iterator(chunk_size=CHUNK_SIZE),
        count=entries.count,
        filters=_activity_filters_words(activity_filter),
    )


def member_table(scope: ExportScope) -> ExportTable:
    """The members as the members page lists them: anyone who may open the page."""
    access = _access(scope, Role.VIEWER)
    organization = access.organization
    memberships = selectors.membership_list(organization=organization)
    return ExportTable(
        title=f"Members of {organization.name}",
        slug=f"{_slug(organization)}-members",
        columns=MEMBER_COLUMNS,
        rows=lambda: memberships.iterator(chunk_size=CHUNK_SIZE),
        count=memberships.count,
        filters="sorted by email",
    )


ACTIVITY = ExportSource(key="tenants.activity", build=activity_table, has_all_fields=True)
MEMBERS = ExportSource(key="tenants.members", build=member_table)


# --- helpers -------------------------------------------------------------------------------


def _access(scope: ExportScope, minimum: Role) -> OrganizationAccess:
    """The exporting user's access, checked as the page's `organization_view` checks it."""
    if scope.organization is None:
        # These tables have no provider-wide form: nobody may see one.
        raise Http404("No such organisation.")
    access = organization_access_get(user=scope.user, organization_id=scope.organization.pk)
    organization_access_require(access, minimum)
    return access


def _slug(organization: Organization) -> str:
    return slugify(organization.name) or "organisation"


def _activity_filters_words(activity_filter: ActivityFilter) -> str:
    """The filters the log applies, as the page's fields name them. A value the page ignores
    (not in its list) is left out, as it leaves the rows unfiltered."""
    chosen = {}
    if activity_filter.is_bound:
        activity_filter.is_valid()  # cleans the form: invalid values are left out
        chosen = activity_filter.form.cleaned_data
    words = []
    for name, field in activity_filter.form.fields.items():
        value = chosen.get(name)
        if value:
            label = dict(field.choices).get(value, value)
            words.append(f"{field.label}: {label}")
    words.append("newest first")
    return "; ".join(words)


def _key(key: str) -> str:
    return key.replace("_", " ")


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{_key(str(k))}: {_words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value)
    text = str(value)
    # Quoted when it would read as more than one detail (an export's filters).
    return f"“{text}”" if ";" in text else text


def _change_words(change: Any) -> str:
    if isinstance(change, list | tuple) and len(change) == 2:
        return f"{_words(change[0])} → {_words(change[1])}"
    return _words(change)
