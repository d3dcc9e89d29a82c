"""Exporting a report's findings and the provider roll-up: the rows, order and columns of the
page they come from (every page of it), and only for those who may open that page."""

import csv
import html
import io
import re
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection as db_connection
from django.http import Http404, QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.exports.models import Export
from dashboard.exports.services import export_run
from dashboard.exports.sources import ExportScope, export_source_get
from dashboard.exports.tables import CellType
from dashboard.exports.writers import csv_write, xlsx_write
from dashboard.reports.engine import finding_last_seen
from dashboard.reports.models import AuditState, Finding, Severity
from dashboard.reports.selectors import GROUP_PREVIEW
from dashboard.tenants.models import Activity
from tests.dashboard.reports.test_rollup import URL as ROLLUP_URL
from tests.dashboard.reports.test_rollup import customer
from tests.dashboard.reports.test_views_report import (
    audited,
    connection_of,
    finding,
    report_url,
    results,
)

pytestmark = pytest.mark.django_db

FINDINGS = export_source_get("reports.findings")
ROLLUP = export_source_get("reports.rollup")

#: Text a spreadsheet must show as it is: accents, CJK, right-to-left, emoji, quotes and
#: line breaks, and a summary that looks like a formula.
AWKWARD = (
    "Zoë Saldaña-Ødegård",
    "王小明",
    "שלום עליכם",
    "Ahmed 🚀 Support",
    'Line one "quoted"\nline two',
    '=HYPERLINK("https://evil.example","click")',
)


def scope(user, organization, query: str = "", **kwargs) -> ExportScope:
    all_fields = kwargs.pop("all_fields", False)
    return ExportScope(
        user=user,
        organization=organization,
        params=QueryDict(query),
        kwargs={key: str(value) for key, value in kwargs.items()},
        all_fields=all_fields,
    )


def headers(table) -> list[str]:
    return [column.header for column in table.columns]


def cells(table) -> list[list]:
    return [[column.value(row) for column in table.columns] for row in table.rows()]


def ids(table) -> list[int]:
    return [row.pk for row in table.rows()]


def page_ids(page: str) -> list[int]:
    """The findings a report page lists, in its order (each row links to its finding)."""
    return [int(pk) for pk in re.findall(r'/reports/findings/(\d+)/">Details', results(page))]


@pytest.fixture
def pbx(organization):
    connection = connection_of(organization)
    audited(connection)
    return connection


@pytest.fixture
def two_pbxs(organization):
    """Two audited connections with findings of several rules and severities; one rule has
    more findings than its group previews."""
    main, branch = connection_of(organization, "Main"), connection_of(organization, "Branch")
    audited(main)
    audited(branch)
    now = timezone.now()
    for n in range(GROUP_PREVIEW + 3):
        finding(main if n % 2 else branch, subject_label=f"User {n:03}", first_seen=now)
    finding(main, rule="trunks.unregistered", severity=Severity.CRITICAL, summary="Trunk down")
    finding(branch, rule="routing.nowhere", severity=Severity.HIGH, summary="Queue to nowhere")
    finding(branch, rule="routing.nowhere", severity=Severity.CRITICAL, summary="IVR to nowhere")
    finding(main, summary="Suppressed one", state=Finding.State.SUPPRESSED)
    finding(main, summary="Fixed one", state=Finding.State.RESOLVED, resolved_at=now)
    return main, branch


# --- findings: rows and order ----------------------------------------------------------------


@pytest.mark.parametrize("sort", ["severity", "count", "rule", "newest", "oldest"])
def test_findings_come_rule_by_rule_in_the_pages_order_every_one_of_them(
    client_for, viewer, organization, two_pbxs, sort
):
    page = client_for(viewer).get(report_url(organization), {"sort": sort}).content.decode()
    exported = ids(FINDINGS.build(scope(viewer, organization, f"sort={sort}")))
    expected = Finding.objects.filter(
        organization=organization, state__in=[Finding.State.OPEN, Finding.State.ACKNOWLEDGED]
    )
    assert sorted(exported) == sorted(expected.values_list("pk", flat=True))
    # The page shows each rule's first findings: the export has them in the same order, and
    # the rest of each rule right after them.
    shown = page_ids(page)
    by_rule = {}
    for pk in exported:
        by_rule.setdefault(Finding.objects.get(pk=pk).rule, []).append(pk)
    assert [pk for pks in by_rule.values() for pk in pks[:GROUP_PREVIEW]] == shown
    assert [pk for pks in by_rule.values() for pk in pks] == exported


@pytest.mark.parametrize("sort", ["severity", "rule", "newest", "oldest"])
def test_one_rules_findings_come_in_the_flat_lists_order_beyond_its_first_page(
    client_for, viewer, pbx, sort
):
    start = timezone.now() - timedelta(days=60)
    for n in range(55):
        finding(pbx, subject_label=f"User {(n * 37) % 55:03}", first_seen=start + timedelta(n))
    query = f"rule=users.no_email&sort={sort}"
    client = client_for(viewer)
    pages = [
        page_ids(client.get(f"{report_url(pbx.organization)}?{query}&page={n}").content.decode())
        for n in (1, 2)
    ]
    exported = ids(FINDINGS.build(scope(viewer, pbx.organization, query)))
    assert len(pages[0]) == 50
    assert exported == pages[0] + pages[1]


@pytest.mark.parametrize(
    ("query", "summaries"),
    [
        ("severity=critical", {"Trunk down", "IVR to nowhere"}),
        ("q=nowhere", {"Queue to nowhere", "IVR to nowhere"}),
        ("status=suppressed", {"Suppressed one"}),
        ("status=resolved", {"Fixed one"}),
        ("rule=routing.nowhere&severity=high", {"Queue to nowhere"}),
        ("severity=urgent&q=trunk", {"Trunk down"}),
        ("q=nothing+like+this", set()),  # an invalid value is ignored, as on screen
    ],
)
def test_the_reports_search_and_filters_select_the_rows(
    client_for, viewer, organization, two_pbxs, query, summaries
):
    table = FINDINGS.build(scope(viewer, organization, query))
    exported = [row.summary for row in table.rows()]
    assert set(exported) == summaries
    assert len(exported) == table.count()
    page = client_for(viewer).get(f"{report_url(organization)}?{query}").content.decode()
    assert sorted(page_ids(page)) == sorted(row.pk for row in table.rows())


def test_the_connection_filter_and_the_connection_report_hold_that_connections_findings(
    viewer, organization, two_pbxs
):
    main, _ = two_pbxs
    mains = set(Finding.objects.filter(connection=main, state="open").values_list("pk", flat=True))
    filtered = FINDINGS.build(scope(viewer, organization, f"connection={main.pk}"))
    assert set(ids(filtered)) == mains
    report = FINDINGS.build(scope(viewer, organization, connection_id=main.pk))
    assert set(ids(report)) == mains
    assert report.title == "Audit findings of Main (Acme Telecom)"
    assert report.slug == "acme-telecom-main-findings"


# --- findings: columns -----------------------------------------------------------------------


def test_columns_are_the_pages_with_each_groups_rule_and_severity_and_last_seen(
    client_for, viewer, organization, two_pbxs
):
    main, _ = two_pbxs
    org_table = FINDINGS.build(scope(viewer, organization))
    page = client_for(viewer).get(report_url(organization)).content.decode()
    shown = re.findall(r'<th scope="col">([^<]+)</th>', results(page))[:5]
    assert shown == ["Affected", "Connection", "What is wrong", "First seen", "Status"]
    assert headers(org_table) == [
        "Rule",
        "Severity",
        "Affected",
        "Connection",
        "What is wrong",
        "First seen",
        "Last seen",
        "Status",
    ]
    # A connection's report has no Connection column, as its page.
    assert "Connection" not in headers(
        FINDINGS.build(scope(viewer, organization, connection_id=main.pk))
    )
    types = {column.header: column.type for column in org_table.columns}
    assert types["First seen"] == types["Last seen"] == CellType.DATETIME
    trunk = next(row for row in cells(org_table) if row[4] == "Trunk down")
    found = Finding.objects.get(summary="Trunk down")
    assert trunk == [
        "Trunks not registered",
        "Critical",
        found.subject_label,
        "Main",
        "Trunk down",
        found.first_seen,
        finding_last_seen(finding=found),
        "Open",
    ]


def test_last_seen_follows_the_engines_rule_without_a_query_a_row(viewer, organization):
    audit_time = timezone.now()
    earlier = audit_time - timedelta(days=3)
    audited_pbx, skipping_pbx = connection_of(organization, "A"), connection_of(organization, "B")
    never_audited = connection_of(organization, "C")
    audited(audited_pbx, last_audit_at=audit_time)
    audited(
        skipping_pbx,
        last_audit_at=audit_time,
        rules_skipped=[{"rule": "users.no_email", "reason": "not on this version"}],
    )
    for connection in (audited_pbx, skipping_pbx, never_audited):
        finding(connection, last_seen=earlier)
        finding(connection, last_seen=earlier, state="resolved", resolved_at=earlier)
    table = FINDINGS.build(scope(viewer, organization, "status=open"))
    last_seen = {row[3]: row[6] for row in cells(table)}
    assert last_seen == {"A": audit_time, "B": earlier, "C": earlier}
    resolved = FINDINGS.build(scope(viewer, organization, "status=resolved"))
    for row in resolved.rows():
        assert resolved.columns[6].value(row) == finding_last_seen(finding=row) == earlier

    def queries() -> int:
        table = FINDINGS.build(scope(viewer, organization))
        with CaptureQueriesContext(db_connection) as captured:
            cells(table)
        return len(captured)

    few = queries()
    for _ in range(20):
        finding(audited_pbx)
    assert queries() == few


def test_all_fields_adds_what_a_finding_stores_and_its_details_one_column_a_key(viewer, admin, pbx):
    finding(pbx, rule="numbers.invalid", details={"field": "mobile", "number": "+44 20 7946"})
    finding(
        pbx,
        rule="users.disabled_still_member",
        details={"memberships": ["Queue 800", "Sales"]},
        state=Finding.State.ACKNOWLEDGED,
        acknowledged_by=admin,
        acknowledged_at=timezone.now(),
        acknowledged_reason="Leaving on Friday",
    )
    plain = FINDINGS.build(scope(viewer, pbx.organization))
    full = FINDINGS.build(scope(viewer, pbx.organization, all_fields=True))
    extra = headers(full)[len(headers(plain)) :]
    assert extra[:4] == ["Rule ID", "Subject kind", "Subject 3CX ID", "Subject key"]
    assert extra[-3:] == ["Details: field", "Details: memberships", "Details: number"]
    rows = {
        row[headers(full).index("Rule ID")]: dict(zip(headers(full), row, strict=True))
        for row in cells(full)
    }
    invalid, member = rows["numbers.invalid"], rows["users.disabled_still_member"]
    assert invalid["Details: number"] == "+44 20 7946"
    assert invalid["Details: memberships"] is None
    assert member["Details: memberships"] == ["Queue 800", "Sales"]
    assert member["Acknowledged by"] == admin.email
    assert member["Acknowledgement reason"] == "Leaving on Friday"
    assert "client_secret" not in " ".join(headers(full)).lower()


def test_the_filters_are_kept_in_words(viewer, organization, two_pbxs):
    main, _ = two_pbxs
    table = FINDINGS.build(
        scope(viewer, organization, f"q=+trunk+&severity=critical&connection={main.pk}&sort=newest")
    )
    assert table.filters == (
        "Search “trunk”; Severity: Critical; Status: Open and acknowledged; "
        "Connection: Main; sorted by newest first"
    )
    assert FINDINGS.build(scope(viewer, organization, "status=resolved")).filters == (
        "Status: Resolved; sorted by severity"
    )


# --- findings: access and where it runs ------------------------------------------------------


def test_members_and_provider_staff_may_export_a_report_and_nobody_else(
    viewer, outsider, provider_staff, organization, two_pbxs
):
    main, _ = two_pbxs
    for user in (viewer, provider_staff):
        assert FINDINGS.build(scope(user, organization)).count() == 16
        assert FINDINGS.build(scope(user, organization, connection_id=main.pk)).count() == 7
    with pytest.raises(Http404):
        FINDINGS.build(scope(outsider, organization))
    with pytest.raises(Http404):
        FINDINGS.build(scope(outsider, organization, connection_id=main.pk))
    with pytest.raises(Http404):
        FINDINGS.build(scope(viewer, None))


def test_a_connection_of_another_organisation_or_a_malformed_one_is_not_found(
    viewer, outsider, organization, pbx
):
    theirs = connection_of(outsider.memberships.get().organization, "Theirs")
    for connection_id in (theirs.pk, "not-a-uuid", "12"):
        with pytest.raises(Http404):
            FINDINGS.build(scope(viewer, organization, connection_id=connection_id))


def test_an_organisation_report_across_connections_is_prepared_in_the_background(
    viewer, organization, pbx
):
    assert not FINDINGS.background(scope(viewer, organization))
    assert not FINDINGS.background(scope(viewer, organization, connection_id=pbx.pk))
    connection_of(organization, "Branch")
    assert FINDINGS.background(scope(viewer, organization))
    assert not FINDINGS.background(scope(viewer, organization, connection_id=pbx.pk))


# --- findings through the writers ------------------------------------------------------------


@pytest.fixture
def awkward(organization):
    connection = connection_of(organization, "Zürich 本社 ☎")
    audited(connection)
    for n, text in enumerate(AWKWARD):
        finding(connection, subject_label=f"{text} {n}", summary=f"{text} has no email")
    return connection


def shown(text: str) -> str:
    """What a spreadsheet shows: a formula gets a leading apostrophe, so it is never run."""
    return f"'{text}" if text.startswith("=") else text


def test_awkward_text_survives_csv_with_and_without_a_byte_order_mark(viewer, awkward):
    table = FINDINGS.build(scope(viewer, awkward.organization, "sort=rule"))
    for bom in (True, False):
        out = io.BytesIO()
        assert csv_write(table, out, bom=bom) == len(AWKWARD)
        data = out.getvalue()
        assert data.startswith(b"\xef\xbb\xbf") is bom
        parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert parsed[0] == headers(table)
        findings = list(table.rows())
        assert len(parsed) == len(findings) + 1
        for written, row in zip(parsed[1:], findings, strict=True):
            assert written[2:4] == [shown(row.subject_label), shown(row.summary)]
            assert written[4] == timezone.localtime(row.first_seen).isoformat(timespec="seconds")


def test_awkward_text_survives_xlsx_as_text_with_dates_as_dates(viewer, awkward):
    table = FINDINGS.build(scope(viewer, awkward.organization, "sort=rule"))
    out = io.BytesIO()
    xlsx_write(table, out)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == headers(table)
    summaries = {row[3] for row in rows[1:]}
    assert summaries == {f"{text} has no email" for text in AWKWARD}
    formula = next(cell for cell in sheet["D"][1:] if cell.value.startswith("=HYPERLINK"))
    assert formula.data_type == "s"
    written = rows[1][4]
    first_seen = timezone.localtime(next(iter(table.rows())).first_seen).replace(tzinfo=None)
    assert isinstance(written, datetime)
    assert abs(written - first_seen) < timedelta(seconds=1)


# --- the roll-up -----------------------------------------------------------------------------


@pytest.fixture
def customers():
    soon = timezone.now() + timedelta(days=5)
    oldest = timezone.now() - timedelta(days=9)
    return [
        customer(
            "Acme",
            {
                "critical": 2,
                "high": 1,
                "worst_rule": "trunks.unregistered",
                "licence_expires_at": soon,
                "oldest_critical_at": oldest,
                "version": "20.0.9.1",
            },
            {"medium": 4, "last_error": "Sign-in refused", "synced": None},
        ),
        customer("Ωmega Ltd «Ω»", {"high": 3, "version": "20.0.8.1"}),
        customer("Calm Co", {"low": 1}),
    ]


def rollup_page_names(client, query: str = "") -> list[str]:
    page = client.get(f"{ROLLUP_URL}?{query}").content.decode()
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', page)


@pytest.mark.parametrize(
    "query",
    ["", "sort=name", "sort=-high", "sort=licence", "sort=-synced", "having=critical", "q=co"],
)
def test_the_rollup_has_the_pages_organisations_in_its_order(
    client_for, provider_staff, customers, query
):
    table = ROLLUP.build(scope(provider_staff, None, query))
    exported = [row[0] for row in cells(table)]
    assert exported == rollup_page_names(client_for(provider_staff), query)
    assert table.count() == len(exported)


def test_the_rollup_has_the_pages_columns_with_typed_values(client_for, provider_staff, customers):
    acme = customers[0]
    table = ROLLUP.build(scope(provider_staff, None, "sort=name"))
    page = client_for(provider_staff).get(ROLLUP_URL).content.decode()
    shown = [
        re.sub(r"<[^>]+>|&nbsp;[▲▼]", "", th).strip()
        for th in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)
    ]
    assert headers(table) == [*shown[:-1], "Never synced", shown[-1]]
    row = dict(zip(headers(table), cells(table)[0], strict=True))
    states = AuditState.objects.filter(organization=acme)
    assert row["Organisation"] == "Acme"
    assert (row["Connections"], row["Critical"], row["High"], row["Medium"], row["Low"]) == (
        2, 2, 1, 4, 0,
    )  # fmt: skip
    assert row["Worst rule"] == "Trunks not registered"
    assert row["Oldest critical"] == states.get(critical=2).oldest_critical_at
    licence = states.get(critical=2).licence_expires_at
    assert row["Licence expires"] == timezone.localtime(licence).date()
    assert row["Version"] == "20.0.8.1, 20.0.9.1"
    assert (row["Never synced"], row["Sync failures"]) == (1, 1)
    types = {column.header: column.type for column in table.columns}
    assert types["Licence expires"] == CellType.DATE
    assert types["Critical"] == CellType.NUMBER


def test_the_rollup_keeps_its_filters_in_words(provider_staff, customers):
    table = ROLLUP.build(scope(provider_staff, None, "q=acme&having=critical&sort=-high"))
    assert table.filters == "Search “acme”; Show: Critical findings; sorted by high, descending"
    assert ROLLUP.build(scope(provider_staff, None)).filters == "sorted by critical, descending"


def test_only_provider_staff_may_export_the_rollup_always_in_the_background(
    owner, provider_staff, organization, customers
):
    with pytest.raises(Http404):
        ROLLUP.build(scope(owner, None))
    with pytest.raises(Http404):
        ROLLUP.build(scope(provider_staff, organization))
    assert ROLLUP.background(scope(provider_staff, None))
    assert not ROLLUP.has_all_fields


def test_the_rollup_streams_versions_a_chunk_at_a_time(provider_staff, customers, monkeypatch):
    monkeypatch.setattr("dashboard.reports.exports.CHUNK_SIZE", 2)
    table = ROLLUP.build(scope(provider_staff, None, "sort=name"))
    with CaptureQueriesContext(db_connection) as captured:
        versions = [row[headers(table).index("Version")] for row in cells(table)]
    assert versions == ["20.0.8.1, 20.0.9.1", "20.0.8.1", "20.0.8.1"]
    assert len([q for q in captured if "version" in q["sql"]]) == 2  # one per chunk of two


# --- through the export menu -----------------------------------------------------------------

CREATE_URL = reverse("exports:create")


def menu_form(page: str, source: str) -> dict[str, str]:
    """The hidden fields of a page's export menu for `source`, as the browser posts them."""
    menu = re.search(
        rf'<details class="export-menu" id="export-{source.replace(".", "-")}">.*?</details>',
        page,
        re.S,
    )
    assert menu, f"no export menu for {source}"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', menu.group(0))
    return {name: html.unescape(value) for name, value in fields if name != "csrfmiddlewaretoken"}


def posted_file(client, form: dict[str, str], **choices) -> bytes:
    response = client.post(CREATE_URL, {**form, **choices})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment")
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def parsed_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def expected_rows(findings) -> list[list[str]]:
    """The database's findings as the connection report's CSV writes them."""
    return [
        [
            "Users without an email address",
            finding.get_severity_display(),
            shown(finding.subject_label),
            shown(finding.summary),
            timezone.localtime(finding.first_seen).isoformat(timespec="seconds"),
            timezone.localtime(finding.last_seen).isoformat(timespec="seconds"),
            finding.get_state_display(),
        ]
        for finding in findings
    ]


@pytest.fixture
def filtered(client_for, viewer, awkward):
    """The connection report of awkward names, filtered to one rule, oldest first, searched,
    and its export menu."""
    audit = AuditState.objects.get(connection=awkward)
    audit.last_audit_at = None  # last seen is then each finding's own
    audit.save()
    finding(awkward, subject_label="Not asked for", summary="Other rule", rule="groups.empty")
    finding(awkward, subject_label="Quiet", summary="Zoë, not matching the search")
    query = "rule=users.no_email&sort=oldest&q=has&page=2"
    client = client_for(viewer)
    page = client.get(f"{report_url(awkward.organization, awkward)}?{query}").content.decode()
    expected = (
        Finding.objects.filter(connection=awkward, rule="users.no_email", summary__contains="has")
        .filter(state__in=["open", "acknowledged"])
        .order_by("first_seen", "pk")
    )
    return client, menu_form(page, "reports.findings"), list(expected)


def test_the_menu_exports_the_filtered_report_as_csv(filtered):
    client, form, expected = filtered
    assert form["source"] == "reports.findings"
    assert "page" not in QueryDict(form["params"])
    data = posted_file(client, form, format="csv", bom="1")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = parsed_csv(data)
    assert rows[0] == [
        "Rule",
        "Severity",
        "Affected",
        "What is wrong",
        "First seen",
        "Last seen",
        "Status",
    ]
    assert rows[1:] == expected_rows(expected)
    assert len(rows) - 1 == len(AWKWARD)
    without = posted_file(client, form, format="csv")
    assert not without.startswith(b"\xef\xbb\xbf")
    assert parsed_csv(without) == rows


def test_the_menu_exports_the_filtered_report_as_xlsx(filtered):
    client, form, expected = filtered
    sheet = openpyxl.load_workbook(io.BytesIO(posted_file(client, form, format="xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Rule", "Severity", "Affected", "What is wrong")
    assert [row[2:4] for row in rows[1:]] == [(f.subject_label, f.summary) for f in expected]
    for row, finding_ in zip(rows[1:], expected, strict=True):
        first_seen = timezone.localtime(finding_.first_seen).replace(tzinfo=None)
        assert abs(row[4] - first_seen) < timedelta(seconds=1)


def test_the_export_is_recorded_with_its_filters(filtered):
    client, form, expected = filtered
    posted_file(client, form, format="csv")
    entry = Activity.objects.get(action="export.created")
    assert entry.details["source"] == "reports.findings"
    assert entry.details["rows"] == len(expected)
    assert entry.details["filters"] == (
        "Search “has”; Rule: Users without an email address; "
        "Status: Open and acknowledged; sorted by oldest first"
    )


def test_outsiders_get_a_404_and_anonymous_visitors_the_sign_in(
    client, client_for, outsider, viewer, pbx
):
    finding(pbx)
    page = client_for(viewer).get(report_url(pbx.organization, pbx)).content.decode()
    form = menu_form(page, "reports.findings")
    client.logout()
    response = client.post(CREATE_URL, {**form, "format": "csv"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert client_for(outsider).post(CREATE_URL, {**form, "format": "csv"}).status_code == 404


@pytest.fixture
def stored_exports(tmp_path, monkeypatch):
    """Background exports' files in a temporary folder."""
    monkeypatch.setattr(Export.file.field, "storage", FileSystemStorage(location=tmp_path))


def run_queued(client, response) -> bytes:
    """Carry out the export a response queued, as the worker would, and download it."""
    assert response.status_code == 302
    export = Export.objects.get()
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    assert export_run(export_id=export.pk).status == Export.Status.SUCCEEDED
    download = client.get(reverse("exports:download", args=[export.pk]))
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def test_an_organisation_report_across_connections_is_made_in_the_background(
    client_for, viewer, organization, two_pbxs, stored_exports, django_capture_on_commit_callbacks
):
    client = client_for(viewer)
    page = client.get(f"{report_url(organization)}?severity=critical").content.decode()
    form = menu_form(page, "reports.findings")
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(CREATE_URL, {**form, "format": "csv"})
    assert len(queued) == 1
    rows = parsed_csv(run_queued(client, response))
    assert rows[0][3] == "Connection"
    # Both rules have one critical finding: their titles decide, as on the page.
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [
        (
            "Calls routed to an extension that does not exist or is disabled",
            "Branch",
            "IVR to nowhere",
        ),
        ("Trunks not registered", "Main", "Trunk down"),
    ]


def test_provider_staff_export_the_rollup_in_the_background_and_nobody_else_may(
    client_for, owner, provider_staff, customers, stored_exports, django_capture_on_commit_callbacks
):
    client = client_for(provider_staff)
    page = client.get(f"{ROLLUP_URL}?sort=name").content.decode()
    form = menu_form(page, "reports.rollup")
    assert form["org"] == ""
    with django_capture_on_commit_callbacks():
        response = client.post(CREATE_URL, {**form, "format": "xlsx"})
    data = run_queued(client, response)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == rollup_page_names(client, "sort=name")
    assert rows[1][:6] == ("Acme", 2, 2, 1, 4, 0)
    assert client_for(owner).post(CREATE_URL, {**form, "format": "csv"}).status_code == 404


def test_the_menu_follows_the_filters_the_page_swaps_in(client_for, viewer, organization, two_pbxs):
    response = client_for(viewer).get(
        report_url(organization),
        {"severity": "critical", "q": "", "page": "2"},
        headers={"HX-Request": "true", "HX-Target": "report-results"},
    )
    form = menu_form(response.content.decode(), "reports.findings")
    assert QueryDict(form["params"]) == QueryDict("severity=critical")
    assert (form["org"], form["kwargs"]) == (str(organization.pk), "")


def test_a_report_without_findings_offers_no_export(client_for, viewer, pbx):
    page = client_for(viewer).get(report_url(pbx.organization, pbx)).content.decode()
    assert "export-menu" not in page
