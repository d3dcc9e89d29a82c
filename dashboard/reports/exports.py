"""The audit reports as exports: a report's findings (organisation or connection) and the
provider roll-up, each with the rows, order and columns of its page, every page of them.

Both read their rows through the functions their pages use (`views.report_filter` with
`selectors.findings_in_report_order`, and `RollupForm.organizations`), so an export cannot
select other rows than the page it was made from.
"""

import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from dashboard.exports.sources import ExportScope, ExportSource
from dashboard.exports.tables import CellType, ExportColumn, ExportTable
from dashboard.reports import selectors
from dashboard.reports.engine import finding_last_seen
from dashboard.reports.filters import SORTS, STATUS_DEFAULT_LABEL, RollupForm
from dashboard.reports.models import AuditState, Finding, Severity
from dashboard.reports.views import (
    ROLLUP_COLUMNS,
    ReportConnections,
    report_connections,
    report_filter,
    rollup_access_check,
)
from dashboard.tenants.access import organization_access_get

__all__ = ["FINDINGS", "ROLLUP"]

#: Rows fetched per database round trip while streaming.
CHUNK_SIZE = 2000


def findings_table(scope: ExportScope) -> ExportTable:
    """A report's findings as its page lists them for `scope.params`: the organisation's
    report, or with `connection_id` a connection's. Anyone who may open the report may
    export it; Http404 for anybody else (and for a connection of another organisation)."""
    if scope.organization is None:
        raise Http404("No such organisation.")
    access = organization_access_get(user=scope.user, organization_id=scope.organization.pk)
    covered = report_connections(
        access, connection_id=_connection_id(scope.kwargs.get("connection_id"))
    )
    finding_filter = report_filter(access, covered, params=scope.params)
    findings = finding_filter.qs
    rule_id, sort = finding_filter.rule_id, finding_filter.sort_key
    columns = _finding_columns(covered)
    if scope.all_fields:
        findings = findings.select_related("acknowledged_by")
        columns += [*STORED_COLUMNS, *map(_detail_column, _detail_keys(findings))]
    name = access.organization.name
    slug = slugify(name) or "organisation"
    if covered.connection is not None:
        name = f"{covered.connection.name} ({name})"
        slug = f"{slug}-{slugify(covered.connection.name) or 'connection'}"
    return ExportTable(
        title=f"Audit findings of {name}",
        slug=f"{slug}-findings",
        columns=columns,
        rows=lambda: selectors.findings_in_report_order(
            findings, rule_id=rule_id, sort=sort
        ).iterator(chunk_size=CHUNK_SIZE),
        count=findings.count,
        filters=_words(finding_filter.form, _finding_value_words),
    )


def findings_background(scope: ExportScope) -> bool:
    """An organisation's report across more than one connection is prepared on the worker."""
    if scope.kwargs.get("connection_id") or scope.organization is None:
        return False
    return scope.organization.threecx_connections.count() > 1


def rollup_table(scope: ExportScope) -> ExportTable:
    """The provider roll-up as its page lists it for `scope.params`: provider staff only,
    Http404 for anybody else (as the page)."""
    rollup_access_check(scope.user)
    if scope.organization is not None:
        raise Http404("The roll-up belongs to no organisation.")
    form = RollupForm(scope.params)
    organizations = form.organizations()
    return ExportTable(
        title="Audit roll-up of all organisations",
        slug="audit-rollup",
        columns=ROLLUP_EXPORT_COLUMNS,
        rows=lambda: _with_versions(organizations),
        count=organizations.count,
        filters=_words(form, _rollup_value_words),
    )


FINDINGS = ExportSource(
    key="reports.findings",
    build=findings_table,
    background=findings_background,
    has_all_fields=True,
)
ROLLUP = ExportSource(key="reports.rollup", build=rollup_table, background=lambda scope: True)


# --- the findings' columns -------------------------------------------------------------------


def _finding_columns(covered: ReportConnections) -> list[ExportColumn]:
    """The columns of the page's findings tables, with each group's rule and severity, and
    "last seen" (the finding's page shows it)."""
    columns = [
        ExportColumn("Rule", lambda f: selectors.rule_title(f.rule)),
        ExportColumn("Severity", lambda f: f.get_severity_display()),
        ExportColumn("Affected", lambda f: f.subject_label or f.subject_key),
    ]
    if covered.show_connection:
        columns.append(ExportColumn("Connection", lambda f: f.connection.name))
    columns += [
        ExportColumn("What is wrong", lambda f: f.summary),
        ExportColumn("First seen", lambda f: f.first_seen, CellType.DATETIME),
        ExportColumn("Last seen", _last_seen(covered), CellType.DATETIME),
        ExportColumn("Status", lambda f: f.get_state_display()),
    ]
    return columns


#: "All fields": what a finding stores that the report's table does not show (and its
#: details, one column per key).
STORED_COLUMNS = (
    ExportColumn("Rule ID", lambda f: f.rule),
    ExportColumn("Subject kind", lambda f: f.subject_kind),
    ExportColumn("Subject 3CX ID", lambda f: f.subject_external_id, CellType.NUMBER),
    ExportColumn("Subject key", lambda f: f.subject_key),
    ExportColumn("Resolved", lambda f: f.resolved_at, CellType.DATETIME),
    ExportColumn(
        "Acknowledged by", lambda f: f.acknowledged_by.email if f.acknowledged_by else None
    ),
    ExportColumn("Acknowledged", lambda f: f.acknowledged_at, CellType.DATETIME),
    ExportColumn("Acknowledgement reason", lambda f: f.acknowledged_reason),
    ExportColumn("Acknowledged until", lambda f: f.acknowledged_until, CellType.DATETIME),
    ExportColumn("Finding ID", lambda f: f.pk, CellType.NUMBER),
)


def _last_seen(covered: ReportConnections) -> Callable[[Finding], Any]:
    """When each finding was last seen true, by the engine's rule, from the audit states of
    the report's connections read once (a connection never audited has none: its findings'
    own `last_seen` says it)."""
    states = {
        state.connection_id: state
        for state in AuditState.objects.filter(connection__in=covered.connections)
    }
    never_audited = AuditState()
    return lambda f: finding_last_seen(
        finding=f, audit_state=states.get(f.connection_id, never_audited)
    )


def _detail_keys(findings: QuerySet[Finding]) -> list[str]:
    """Every key of the findings' details (each rule writes its own), in one streamed pass."""
    keys: set[str] = set()
    for details in findings.order_by().values_list("details", flat=True).iterator(CHUNK_SIZE):
        if isinstance(details, dict):
            keys.update(details)
    return sorted(keys)


def _detail_column(key: str) -> ExportColumn:
    return ExportColumn(
        f"Details: {key.replace('_', ' ')}",
        lambda f: f.details.get(key) if isinstance(f.details, dict) else None,
    )


# --- the roll-up's columns -------------------------------------------------------------------

_ROLLUP_LABELS = dict((sort, label) for label, sort in ROLLUP_COLUMNS if sort)


def _licence_day(organization: Any) -> Any:
    value = organization.licence_expires
    return timezone.localtime(value).date() if value is not None else None


#: The page's columns in its order; the page shows the never-synced connections inside the
#: last-sync cell, the export in a column of their own.
ROLLUP_EXPORT_COLUMNS = (
    ExportColumn("Organisation", lambda o: o.name),
    ExportColumn("Connections", lambda o: o.connection_count, CellType.NUMBER),
    *(
        ExportColumn(severity.label, lambda o, s=severity.value: getattr(o, s), CellType.NUMBER)
        for severity in Severity
    ),
    ExportColumn(
        "Worst rule", lambda o: selectors.rule_title(o.worst_rule) if o.worst_rule else None
    ),
    ExportColumn("Oldest critical", lambda o: o.oldest_critical, CellType.DATETIME),
    ExportColumn("Licence expires", _licence_day, CellType.DATE),
    ExportColumn("Version", lambda o: o.versions),
    ExportColumn("Stalest last sync", lambda o: o.last_synced, CellType.DATETIME),
    ExportColumn("Never synced", lambda o: o.never_synced, CellType.NUMBER),
    ExportColumn("Sync failures", lambda o: o.sync_failures, CellType.NUMBER),
)


def _with_versions(organizations: QuerySet) -> Iterator[Any]:
    """The roll-up's organisations, streamed, each with `versions` ("20.0.8, 20.0.9") read
    for a chunk of them at a time, as the page reads them for a page."""
    stream = organizations.iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(stream, CHUNK_SIZE)):
        versions = selectors.rollup_versions([organization.pk for organization in chunk])
        for organization in chunk:
            organization.versions = ", ".join(versions.get(organization.pk, []))
            yield organization


# --- filters in words ------------------------------------------------------------------------


def _words(form: Form, value_words: Callable[[Form, str, Any], str]) -> str:
    """The search, filters and sort a page applies, as its fields name them: "Search
    “smith”; Severity: Critical; sorted by newest first". A value the page ignores (not
    valid) is left out, as the rows leave it out."""
    form.is_valid()
    words = []
    for name in form.fields:
        if name == "sort":
            continue
        text = value_words(form, name, form.cleaned_data.get(name))
        if text:
            words.append(text)
    words.append(value_words(form, "sort", form.cleaned_data.get("sort")))
    return "; ".join(words)


def _choice_label(form: Form, name: str, value: str) -> str:
    return str(dict(form.fields[name].choices).get(value, value))


def _finding_value_words(form: Form, name: str, value: Any) -> str:
    if name == "q":
        return f"Search “{value.strip()}”" if value and value.strip() else ""
    if name == "status":
        return f"Status: {_choice_label(form, name, value) if value else STATUS_DEFAULT_LABEL}"
    if name == "sort":
        return f"sorted by {dict(SORTS).get(value or 'severity', value).lower()}"
    return f"{form.fields[name].label}: {_choice_label(form, name, value)}" if value else ""


def _rollup_value_words(form: Form, name: str, value: Any) -> str:
    if name == "q":
        return f"Search “{value.strip()}”" if value and value.strip() else ""
    if name == "sort":
        sort = value or RollupForm.default_sort
        label = _ROLLUP_LABELS.get(sort.removeprefix("-"), sort.removeprefix("-"))
        return f"sorted by {label.lower()}{', descending' if sort.startswith('-') else ''}"
    return f"{form.fields[name].label}: {_choice_label(form, name, value)}" if value else ""


def _connection_id(value: str | None) -> uuid.UUID | None:
    """The connection of a connection's report; Http404 for a malformed id, as its URL."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such connection.") from None
