"""Audit report pages: an organisation's and a connection's report, one finding (with
acknowledge, suppress and reopen), re-running an audit, a rule's explanation, and the
provider roll-up across every organisation.

A report's state (filters, search, sort, page) is its query string: the page and the HTMX
fragment that the filter form swaps in come from the same view, as the directory listings do.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.dates import MONTHS_3
from django.views.decorators.http import require_GET, require_POST

from dashboard.connections.selectors import connection_get, connection_list
from dashboard.directory.listings import LISTING_FOR_KIND
from dashboard.htmx import HtmxHttpRequest, fragment_or_page, fragment_or_redirect
from dashboard.jobs.htmx import job_poll_response
from dashboard.reports import selectors, services
from dashboard.reports.charts import trend_chart
from dashboard.reports.engine import finding_last_seen
from dashboard.reports.filters import FindingFilter, RollupForm
from dashboard.reports.forms import FindingAcknowledgeForm
from dashboard.reports.models import AuditRun, Finding
from dashboard.reports.rules import CATEGORIES, RULES, SETTING, rule_get
from dashboard.tenants.access import OrganizationAccess, organization_view, tenant_object_get
from integrations.threecx.models import ThreeCXConnection

REPORT_TARGET = "report-results"
ROLLUP_TARGET = "rollup-results"
FINDINGS_PER_PAGE = 50
#: Rows of the roll-up a page: a screenful or two to scan, and cheap to render.
ROLLUP_PER_PAGE = 50


@organization_view()
@require_GET
def organization_report(request: HtmxHttpRequest, access: OrganizationAccess) -> HttpResponse:
    return _report(request, access, report_connections(access))


@organization_view()
@require_GET
def connection_report(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    return _report(request, access, report_connections(access, connection_id=connection_id))


@organization_view()
@require_GET
def finding_detail(
    request: HtmxHttpRequest, access: OrganizationAccess, finding_id
) -> HttpResponse:
    finding = _finding_get(access, finding_id)
    return render(
        request, "reports/finding.html", _finding_context(access, finding, FindingAcknowledgeForm())
    )


@organization_view()
@require_POST
def finding_acknowledge(
    request: HtmxHttpRequest, access: OrganizationAccess, finding_id
) -> HttpResponse:
    """Acknowledge or suppress (admins): a reason, and optionally the day it ends."""
    finding = _finding_get(access, finding_id)
    form = FindingAcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            finding = services.finding_acknowledge(
                finding=finding,
                user=request.user,
                reason=form.cleaned_data["reason"],
                until=form.until_time,
                suppress=form.suppress,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
    if not form.is_valid():
        return _finding_state_response(request, access, finding, form)
    done = "Suppressed" if form.suppress else "Acknowledged"
    return fragment_or_redirect(
        request,
        lambda: _finding_state_response(request, access, finding, FindingAcknowledgeForm()),
        redirect_to=_finding_url(finding),
        message=f"{done}. The activity log records who did it and why.",
    )


@organization_view()
@require_POST
def finding_reopen(
    request: HtmxHttpRequest, access: OrganizationAccess, finding_id
) -> HttpResponse:
    """Undo an acknowledgement or a suppression (admins)."""
    finding = _finding_get(access, finding_id)
    try:
        finding = services.finding_reopen(finding=finding, user=request.user, request=request)
    except ValidationError as error:
        message = " ".join(error.messages)
    else:
        message = "Reopened: the finding counts in the report again."
    return fragment_or_redirect(
        request,
        lambda: _finding_state_response(request, access, finding, FindingAcknowledgeForm()),
        redirect_to=_finding_url(finding),
        message=message,
    )


@organization_view()
@require_POST
def audit_rerun(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id
) -> HttpResponse:
    """Run every rule over the connection's directory now (admins)."""
    connection = connection_get(access, connection_id)
    run = services.audit_run_request(
        connection=connection,
        trigger=AuditRun.Trigger.MANUAL,
        requested_by=request.user,
        request=request,
    )
    return fragment_or_redirect(
        request,
        lambda: _audit_run_response(request, access, run),
        redirect_to=reverse("reports:connection", args=[access.organization.pk, connection.pk]),
        message="The audit is running; reload this page in a moment to see what it found.",
    )


@organization_view()
@require_GET
def audit_run(
    request: HtmxHttpRequest, access: OrganizationAccess, connection_id, run_id
) -> HttpResponse:
    """An audit run's progress, polled until it finishes."""
    connection = connection_get(access, connection_id)
    run = tenant_object_get(
        AuditRun.objects.filter(connection=connection).select_related("connection"),
        access,
        pk=run_id,
    )
    return _audit_run_response(request, access, run)


@login_required
@require_GET
def rule_detail(request: HttpRequest, rule_id: str) -> HttpResponse:
    """What a rule checks, why it matters and how to fix it: the same for everyone."""
    rule = rule_get(rule_id)
    if rule is None:
        raise Http404("No such rule.")
    return render(
        request,
        "reports/rule.html",
        {"rule": rule, "categories": _catalogue(), "back": _safe_back(request)},
    )


@login_required
@require_GET
def rollup(request: HtmxHttpRequest) -> HttpResponse:
    """Every organisation on one page (provider staff only: 404 for everyone else)."""
    rollup_access_check(request.user)
    form = RollupForm(request.GET)
    page = Paginator(form.organizations(), ROLLUP_PER_PAGE).get_page(request.GET.get("page"))
    query = _query_state(request.GET)
    context = {
        "form": form,
        "page": page,
        "rows": _rollup_rows(page.object_list),
        "empty_cell": render_to_string("includes/none.html"),
        "query": query,
        "columns": _rollup_columns(form.sort_key),
        "list_url": request.path,
        "results_target": ROLLUP_TARGET,
    }
    return fragment_or_page(
        request,
        fragment="reports/_rollup_fragment.html",
        page="reports/rollup.html",
        context=context,
        target=ROLLUP_TARGET,
        fragment_headers={"HX-Push-Url": _url(request.path, query, page=page.number)},
    )


# --- what a report and the roll-up list (their pages and their exports) ---------------------


@dataclass(frozen=True)
class ReportConnections:
    """The connections a report covers: the organisation's, or the one of a connection's
    report (`connection`)."""

    connections: list[ThreeCXConnection]
    connection: ThreeCXConnection | None

    @property
    def show_connection(self) -> bool:
        """Whether the findings table has a Connection column."""
        return self.connection is None and len(self.connections) > 1


def report_connections(
    access: OrganizationAccess, *, connection_id: Any = None
) -> ReportConnections:
    """The organisation's connections, or (404 unless it is the organisation's) one."""
    if connection_id is None:
        return ReportConnections(list(connection_list(organization=access.organization)), None)
    connection = connection_get(access, connection_id)
    return ReportConnections([connection], connection)


def report_filter(
    access: OrganizationAccess, covered: ReportConnections, *, params: QueryDict
) -> FindingFilter:
    """A report's findings as its query string searches and filters them: the page and its
    export (dashboard/reports/exports.py) read the same rows; `selectors.finding_groups` and
    `selectors.findings_in_report_order` put them in the page's order."""
    return FindingFilter(
        params,
        queryset=selectors.finding_list(
            organization=access.organization, connection=covered.connection
        ),
        connections=covered.connections,
        connection=covered.connection,
    )


def rollup_access_check(user: Any) -> None:
    """The roll-up is for provider staff; anybody else gets the 404 of a page that is not."""
    if not getattr(user, "is_provider_staff", False):
        raise Http404("No such page.")


# --- reports ---------------------------------------------------------------------------------


def _report(
    request: HtmxHttpRequest, access: OrganizationAccess, covered: ReportConnections
) -> HttpResponse:
    organization = access.organization
    connections, connection = covered.connections, covered.connection
    finding_filter = report_filter(access, covered, params=request.GET)
    counts = selectors.finding_counts(finding_filter.queryset)
    states = selectors.audit_states(organization=organization)
    audited = [states[c.pk] for c in connections if c.pk in states]
    active_runs = selectors.audit_runs_active(organization=organization)
    sort = finding_filter.sort_key
    groups, page = None, None
    if finding_filter.rule_id:
        ordered = selectors.findings_in_report_order(
            finding_filter.qs, rule_id=finding_filter.rule_id, sort=sort
        )
        page = Paginator(ordered, FINDINGS_PER_PAGE).get_page(request.GET.get("page"))
        _attach_subject_urls(page.object_list, organization.pk)
    else:
        groups = selectors.finding_groups(finding_filter.qs, sort=sort)
        for group in groups:
            _attach_subject_urls(group.findings, organization.pk)
    query = _query_state(request.GET)
    list_url = request.path
    context = {
        "organization": organization,
        "connection": connection,
        "connections": connections,
        "show_connection": covered.show_connection,
        "filter": finding_filter,
        "counts": counts,
        "grade": selectors.grade_for(counts, connections=len(audited) or len(connections)),
        "grade_bounds": selectors.GRADE_BOUNDS,
        "grade_weights": selectors.GRADE_WEIGHTS,
        "audits": [AuditRow(c, states.get(c.pk), active_runs.get(c.pk)) for c in connections],
        "skipped": [
            {**s, "title": selectors.rule_title(s["rule"])}
            for s in selectors.rules_skipped(audited)
        ],
        "chart": trend_chart(
            selectors.finding_trend(organization=organization, connection=connection)
        ),
        "groups": groups,
        "page": page,
        "rule": rule_get(finding_filter.rule_id),
        "rule_id": finding_filter.rule_id,
        "situation": _situation(connections, audited, counts, finding_filter, groups, page),
        "category_count": len(CATEGORIES),
        "rule_count": len(RULES),
        "audited_count": len(audited),
        "query": query,
        "list_url": list_url,
        "results_target": REPORT_TARGET,
    }
    return fragment_or_page(
        request,
        fragment="reports/_report_fragment.html",
        page="reports/report.html",
        context=context,
        target=REPORT_TARGET,
        fragment_headers={"HX-Push-Url": _url(list_url, query, page=page.number if page else 1)},
    )


@dataclass(frozen=True)
class AuditRow:
    connection: ThreeCXConnection
    state: Any
    active_run: AuditRun | None


def _situation(connections, audited, counts, finding_filter, groups, page) -> str:
    """Which empty state, if any, the report shows."""
    if not connections:
        return "no_connection"
    if not audited:
        return "not_audited"
    if groups if groups is not None else page.object_list:
        return ""
    if counts.active == 0 and not finding_filter.is_filtered:
        return "all_passed"
    return "no_matches"


def _attach_subject_urls(findings: list[Finding], organization_id) -> None:
    """Set `finding.subject_url`: an entry's detail page, or for a setting the connection's
    page (where the system status is shown); "" for kinds without a page."""
    for finding in findings:
        finding.subject_url = _subject_url(finding, organization_id)


def _subject_url(finding: Finding, organization_id) -> str:
    listing = LISTING_FOR_KIND.get(finding.subject_kind)
    if listing is not None and finding.subject_external_id is not None:
        return reverse(
            "directory_entry_detail",
            kwargs={
                "org_id": organization_id,
                "connection_id": finding.connection_id,
                "kind": listing.slug,
                "external_id": finding.subject_external_id,
            },
        )
    if finding.subject_kind == SETTING:
        return reverse("connection_detail", args=[organization_id, finding.connection_id])
    return ""


# --- one finding -----------------------------------------------------------------------------


def _finding_get(access: OrganizationAccess, finding_id) -> Finding:
    return tenant_object_get(
        Finding.objects.select_related("connection", "acknowledged_by"), access, pk=finding_id
    )


def _finding_url(finding: Finding) -> str:
    return reverse("reports:finding", args=[finding.organization_id, finding.pk])


def _finding_context(
    access: OrganizationAccess, finding: Finding, form: FindingAcknowledgeForm
) -> dict[str, Any]:
    finding.subject_url = _subject_url(finding, access.organization.pk)
    return {
        "organization": access.organization,
        "connection": finding.connection,
        "finding": finding,
        "rule": rule_get(finding.rule),
        "rule_title": selectors.rule_title(finding.rule),
        "form": form,
        "history": selectors.finding_history(finding),
        "last_seen": finding_last_seen(finding=finding),
        "activity": selectors.finding_activity(finding),
        "details": sorted((finding.details or {}).items()),
    }


def _finding_state_response(
    request: HtmxHttpRequest,
    access: OrganizationAccess,
    finding: Finding,
    form: FindingAcknowledgeForm,
) -> HttpResponse:
    """The finding's state panel (HTMX) or its whole page, after a post."""
    return fragment_or_page(
        request,
        fragment="reports/_finding_state.html",
        page="reports/finding.html",
        context=_finding_context(access, finding, form),
    )


# --- audit runs ------------------------------------------------------------------------------


def _audit_run_response(
    request: HtmxHttpRequest, access: OrganizationAccess, run: AuditRun
) -> HttpResponse:
    response = job_poll_response(
        request,
        run,
        template="reports/_audit_run.html",
        context=lambda: {
            "organization": access.organization,
            "connection": run.connection,
            "run": run,
        },
    )
    if run.is_finished and request.htmx:
        # The report below reloads itself on this event, to show what the audit found.
        response["HX-Trigger"] = "auditFinished"
    return response


# --- the rule catalogue ----------------------------------------------------------------------


def _catalogue() -> list[tuple[int, str, list]]:
    by_category: dict[int, list] = {}
    for rule in RULES:
        by_category.setdefault(rule.category, []).append(rule)
    return [(c, CATEGORIES.get(c, str(c)), by_category[c]) for c in sorted(by_category)]


def _safe_back(request: HttpRequest) -> str:
    """The report the reader came from (a path of this site only), for a "Back" link."""
    back = request.GET.get("from", "")
    return back if back.startswith("/") and not back.startswith("//") else ""


# --- the roll-up -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderCell:
    label: str
    sort: str
    #: "ascending", "descending" or "" (the header's aria-sort).
    direction: str
    next_sort: str


ROLLUP_COLUMNS = (
    ("Organisation", "name"),
    ("Connections", "connections"),
    ("Critical", "critical"),
    ("High", "high"),
    ("Medium", "medium"),
    ("Low", "low"),
    ("Worst rule", ""),
    ("Oldest critical", "oldest_critical"),
    ("Licence expires", "licence"),
    ("Version", ""),
    ("Stalest last sync", "synced"),
    ("Sync failures", "failures"),
)


def _rollup_columns(sort_key: str) -> list[HeaderCell]:
    cells = []
    for label, sort in ROLLUP_COLUMNS:
        direction, next_sort = "", sort
        if sort and sort_key.removeprefix("-") == sort:
            direction = "descending" if sort_key.startswith("-") else "ascending"
            next_sort = sort if sort_key.startswith("-") else f"-{sort}"
        elif sort and sort not in ("name", "oldest_critical", "licence", "synced"):
            next_sort = f"-{sort}"  # counts: the biggest first on the first click
        cells.append(HeaderCell(label, sort, direction, next_sort))
    return cells


@dataclass(frozen=True, slots=True)
class RollupCount:
    severity: str
    text: str
    #: The organisation's report narrowed to this severity; "" for none (nothing to show).
    url: str


@dataclass(frozen=True, slots=True)
class RollupMoment:
    iso: str
    #: The date, or the date and time, in the house format.
    text: str
    #: "3 days, 4 hours ago", for times; "" for a date.
    age: str


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One organisation of the roll-up with every link and text ready: the table has 50 rows
    of 12 cells, and reversing URLs, formatting dates and choosing plural words per cell in the
    template cost about a millisecond a row (see docs/BENCHMARKS.md)."""

    name: str
    report_url: str
    connections_url: str
    connection_count: int
    connections: str
    counts: tuple[RollupCount, ...]
    worst_rule_title: str
    worst_rule_url: str
    oldest_critical: RollupMoment | None
    oldest_critical_url: str
    licence_expires: RollupMoment | None
    licence_url: str
    versions: str
    last_synced: RollupMoment | None
    never_synced: int
    sync_failures: int
    failures: str


def _rollup_rows(organizations: list) -> list[RollupRow]:
    """The page's organisations (annotated by selectors.rollup_list) as table rows: each URL
    is reversed once and completed per organisation, each date format looked up once."""
    versions = selectors.rollup_versions([o.pk for o in organizations])
    report_url = _url_maker("reports:organization")
    connections_url = _url_maker("connection_list")
    clock = _RollupClock()
    rows = []
    for org in organizations:
        report = report_url(org.pk)
        counts = tuple(
            RollupCount(
                severity,
                f"{count:,}",
                f"{report}?severity={severity}" if count else "",
            )
            for severity in ("critical", "high", "medium", "low")
            for count in (getattr(org, severity),)
        )
        rows.append(
            RollupRow(
                name=org.name,
                report_url=report,
                connections_url=connections_url(org.pk),
                connection_count=org.connection_count,
                connections=f"{org.connection_count:,}",
                counts=counts,
                worst_rule_title=selectors.rule_title(org.worst_rule) if org.worst_rule else "",
                worst_rule_url=f"{report}?rule={quote(org.worst_rule)}" if org.worst_rule else "",
                oldest_critical=clock.moment(org.oldest_critical),
                oldest_critical_url=f"{report}?severity=critical&sort=oldest",
                licence_expires=clock.day(org.licence_expires),
                licence_url=f"{report}?rule=licence.expiring",
                versions=", ".join(versions.get(org.pk, [])),
                last_synced=clock.moment(org.last_synced),
                never_synced=org.never_synced,
                sync_failures=org.sync_failures,
                failures=f"{org.sync_failures:,}",
            )
        )
    return rows


def _url_maker(name: str) -> Callable[[Any], str]:
    """A URL taking one organisation id, reversed once: a reversal costs far more than
    formatting a string, and the roll-up needs two per row."""
    marker = uuid.UUID(int=0)
    head, tail = reverse(name, args=[marker]).split(str(marker))
    return lambda organization_id: f"{head}{organization_id}{tail}"


class _RollupClock:
    """Dates in the house format (dashboard/formats) and ages as humanize's `naturaltime`
    writes them in English ("2 hours ago", "3 days, 4 hours ago"), for a page of the roll-up:
    "now", the formats and the month names are looked up once, not once per cell
    (`dateformat.format` and `naturaltime` cost tens of microseconds a call, a page has 150)."""

    #: (seconds, singular, plural), largest first, as Django's timesince counts.
    UNITS = (
        (365 * 86400, "year", "years"),
        (30 * 86400, "month", "months"),
        (7 * 86400, "week", "weeks"),
        (86400, "day", "days"),
        (3600, "hour", "hours"),
        (60, "minute", "minutes"),
    )

    def __init__(self) -> None:
        self.now = timezone.now()
        months = [str(MONTHS_3[number]).title() for number in range(1, 13)]
        self.date_text = _date_formatter(formats.get_format("DATE_FORMAT"), months)
        self.datetime_text = _date_formatter(formats.get_format("DATETIME_FORMAT"), months)

    def moment(self, value: datetime | None) -> RollupMoment | None:
        if value is None:
            return None
        local = timezone.localtime(value)
        return RollupMoment(local.isoformat(), self.datetime_text(local), self.age(value))

    def day(self, value: datetime | None) -> RollupMoment | None:
        if value is None:
            return None
        local = timezone.localtime(value)
        return RollupMoment(local.isoformat(), self.date_text(local), "")

    def age(self, value: datetime) -> str:
        seconds = int((self.now - value).total_seconds())
        suffix = "ago" if seconds >= 0 else "from now"
        seconds = abs(seconds)
        for index, (size, one, many) in enumerate(self.UNITS):
            count, rest = divmod(seconds, size)
            if not count:
                continue
            if size < 86400:  # under a day, one unit: "an hour ago", "5 minutes ago"
                text = (
                    f"{count}\xa0{many}" if count > 1 else f"{'an' if one == 'hour' else 'a'} {one}"
                )
            else:  # the unit and the next one down, as timesince does: "1 week, 2 days"
                text = _count_text(count, one, many)
                next_size, next_one, next_many = self.UNITS[index + 1]
                if rest >= next_size:
                    text += ", " + _count_text(rest // next_size, next_one, next_many)
            return f"{text} {suffix}"
        return "now"


def _date_formatter(format_string: str, months: list[str]) -> Callable[[datetime], str]:
    """`dateformat.format(value, format_string)` as a function made once: the characters the
    house formats use ("j M Y, H:i") become string pieces; any other leaves it to Django."""
    pieces: dict[str, Callable[[datetime], str]] = {
        "j": lambda t: str(t.day),
        "d": lambda t: f"{t.day:02}",
        "M": lambda t: months[t.month - 1],
        "n": lambda t: str(t.month),
        "m": lambda t: f"{t.month:02}",
        "Y": lambda t: str(t.year),
        "G": lambda t: str(t.hour),
        "H": lambda t: f"{t.hour:02}",
        "i": lambda t: f"{t.minute:02}",
    }
    parts: list[Callable[[datetime], str] | str] = []
    characters = iter(format_string)
    for character in characters:
        if character == "\\":
            parts.append(next(characters, ""))
        elif character in pieces:
            parts.append(pieces[character])
        elif character.isalpha():  # a code this shortcut does not know
            return lambda value: dateformat.format(value, format_string)
        else:
            parts.append(character)
    return lambda value: "".join(part if isinstance(part, str) else part(value) for part in parts)


def _count_text(count: int, one: str, many: str) -> str:
    """ "3 days", with a no-break space as timesince writes it (the number stays with its unit)."""
    return f"{count}\xa0{one if count == 1 else many}"


# --- query strings ---------------------------------------------------------------------------


def _query_state(params: QueryDict) -> QueryDict:
    """The page's state without empty values or the page number."""
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [v for v in values if v]
        if key != "page" and kept:
            query.setlist(key, kept)
    return query


def _url(path: str, query: QueryDict, *, page: int = 1) -> str:
    query = query.copy()
    if page > 1:
        query["page"] = str(page)
    return f"{path}?{query.urlencode()}" if query else path
