"""The organisation and connection reports: grade, counts, findings grouped by rule,
filters, search, sort, empty states, rules that could not run, and re-running an audit."""

import re
from datetime import timedelta
from itertools import count

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.directory.models import DirectoryState, EntryKind
from dashboard.reports.models import AuditRun, AuditState, Finding, FindingSnapshot, Severity
from dashboard.reports.selectors import FindingCounts, grade_for
from integrations.threecx.models import ThreeCXConnection

pytestmark = pytest.mark.django_db

_ids = count(1)


def connection_of(organization, name: str = "Main PBX") -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization, name=name, base_url="https://pbx.example.com", client_id="900"
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    DirectoryState.objects.create(connection=connection, generation=1)
    return connection


def audited(connection, **fields) -> AuditState:
    """The connection as its last audit left it."""
    return AuditState.objects.create(
        connection=connection,
        organization=connection.organization,
        **{"last_audit_at": timezone.now(), **fields},
    )


def finding(connection, rule: str = "users.no_email", **fields) -> Finding:
    n = next(_ids)
    now = timezone.now()
    values = {
        "severity": Severity.MEDIUM,
        "subject_kind": EntryKind.USER,
        "subject_external_id": n,
        "subject_key": f"user:{n}",
        "subject_label": f"User {100 + n}",
        "summary": f"User {100 + n} has no email address",
        "first_seen": now - timedelta(days=1),
        "last_seen": now,
    }
    return Finding.objects.create(
        organization=connection.organization, connection=connection, rule=rule, **values | fields
    )


def report_url(organization, connection=None) -> str:
    if connection is not None:
        return reverse("reports:connection", args=[organization.pk, connection.pk])
    return reverse("reports:organization", args=[organization.pk])


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', page, re.S)
    assert match, heading_id
    return match.group(0)


@pytest.fixture
def pbx(organization):
    connection = connection_of(organization)
    audited(connection)
    return connection


def entry_url(connection, external_id: int, slug: str = "users") -> str:
    return reverse(
        "directory_entry_detail",
        kwargs={
            "org_id": connection.organization_id,
            "connection_id": connection.pk,
            "kind": slug,
            "external_id": external_id,
        },
    )


def results(page: str) -> str:
    """The findings part of a report page."""
    return page.split('<div id="report-results">', 1)[1]


def test_members_see_findings_grouped_by_rule_worst_first_with_links_to_the_entries(
    client_for, viewer, pbx
):
    finding(pbx, subject_external_id=42, subject_label="User 142 Grace Hopper")
    finding(pbx, rule="security.admin_without_2fa", severity=Severity.CRITICAL)
    finding(
        pbx,
        rule="security.audit_log_off",
        subject_kind="setting",
        subject_external_id=None,
        subject_label="Audit log",
    )
    page = results(client_for(viewer).get(report_url(pbx.organization)).content.decode())
    assert f'href="{entry_url(pbx, 42)}"><bdi>User 142 Grace Hopper</bdi>' in page
    settings_link = reverse("connection_detail", args=[pbx.organization_id, pbx.pk])
    assert f'href="{settings_link}"><bdi>Audit log</bdi>' in page
    titles = re.findall(r'<h3 id="group-\d+"><a href="/reports/rules/([^/]+)/', page)
    assert titles[0] == "security.admin_without_2fa"
    assert set(titles) == {"security.admin_without_2fa", "users.no_email", "security.audit_log_off"}
    assert "Users without an email address" in page


def test_a_group_shows_its_first_findings_and_links_to_all_of_them(client_for, viewer, pbx):
    for _ in range(14):
        finding(pbx)
    client = client_for(viewer)
    page = results(client.get(report_url(pbx.organization)).content.decode())
    assert page.count("has no email address</bdi>") == 10
    assert "Show all 14" in page
    flat = results(
        client.get(report_url(pbx.organization), {"rule": "users.no_email"}).content.decode()
    )
    assert flat.count("has no email address</bdi>") == 14
    assert "of 14 findings" in flat


def test_filters_by_severity_connection_and_search(client_for, viewer, pbx):
    branch = connection_of(pbx.organization, "Branch")
    audited(branch)
    finding(pbx, summary="Main has no email")
    finding(branch, summary="Branch has no email")
    finding(branch, rule="trunks.unregistered", severity=Severity.CRITICAL, summary="Trunk down")
    client = client_for(viewer)
    url = report_url(pbx.organization)

    def summaries(**params) -> set[str]:
        page = results(client.get(url, params).content.decode())
        return set(re.findall(r"<td><bdi>([^<]+)</bdi></td>", page))

    assert summaries() == {"Main has no email", "Branch has no email", "Trunk down"}
    assert summaries(severity="critical") == {"Trunk down"}
    assert summaries(connection=str(branch.pk)) == {"Branch has no email", "Trunk down"}
    assert summaries(q="main email") == {"Main has no email"}
    assert summaries(q="trunk") == {"Trunk down"}  # the rule's id matches too


def test_suppressed_findings_are_hidden_and_counted_and_resolved_ones_are_history(
    client_for, viewer, pbx
):
    finding(pbx, summary="Still open")
    finding(pbx, summary="Hidden away", state=Finding.State.SUPPRESSED)
    finding(pbx, summary="Fixed", state=Finding.State.RESOLVED, resolved_at=timezone.now())
    client = client_for(viewer)
    url = report_url(pbx.organization)
    page = client.get(url).content.decode()
    assert "Still open" in page and "Hidden away" not in page and "Fixed" not in results(page)
    assert "1 suppressed</a> hidden" in page
    assert "1 resolved this week" in page
    assert "Hidden away" in client.get(url, {"status": "suppressed"}).content.decode()
    assert "Fixed" in results(client.get(url, {"status": "resolved"}).content.decode())


def test_sorting_by_count_puts_the_biggest_rule_first(client_for, viewer, pbx):
    finding(pbx, rule="trunks.unregistered", severity=Severity.CRITICAL)
    for _ in range(3):
        finding(pbx)
    client = client_for(viewer)

    def first_rule(**params) -> str:
        page = results(client.get(report_url(pbx.organization), params).content.decode())
        return re.search(r'<h3 id="group-1"><a href="/reports/rules/([^/]+)/', page).group(1)

    assert first_rule() == "trunks.unregistered"
    assert first_rule(sort="count") == "users.no_email"
    assert first_rule(sort="rule") == "trunks.unregistered"  # "Trunks..." before "Users..."


def test_filtering_with_htmx_answers_the_results_and_a_bookmarkable_url(client_for, viewer, pbx):
    finding(pbx, rule="trunks.unregistered", severity=Severity.CRITICAL, summary="Trunk down")
    response = client_for(viewer).get(
        report_url(pbx.organization, pbx),
        {"severity": "critical", "q": "", "sort": "severity"},
        headers={"HX-Request": "true", "HX-Target": "report-results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "Trunk down" in response.content.decode()
    assert response["HX-Push-Url"] == (
        f"{report_url(pbx.organization, pbx)}?severity=critical&sort=severity"
    )
    assert "HX-Request" in response["Vary"]


def test_a_bad_filter_value_is_explained_not_an_error(client_for, viewer, pbx):
    response = client_for(viewer).get(report_url(pbx.organization), {"severity": "urgent"})
    assert response.status_code == 200
    assert "“urgent” is not one of the choices" in response.content.decode()


def test_the_grade_weighs_findings_by_severity_per_connection():
    assert grade_for(FindingCounts(), connections=1).letter == "A"
    assert grade_for(FindingCounts(low=2), connections=1).letter == "A"
    assert grade_for(FindingCounts(medium=5), connections=1).letter == "B"
    assert grade_for(FindingCounts(medium=5), connections=5).letter == "A"
    assert grade_for(FindingCounts(medium=12), connections=1).letter == "C"
    assert grade_for(FindingCounts(low=200), connections=1).letter == "F"
    capped = grade_for(FindingCounts(critical=1), connections=10)
    assert (capped.letter, capped.capped_by) == ("D", "critical findings")
    assert grade_for(FindingCounts(high=1), connections=10).letter == "B"


def test_the_page_shows_the_grade_counts_and_how_the_grade_is_worked_out(client_for, viewer, pbx):
    finding(pbx, rule="trunks.unregistered", severity=Severity.CRITICAL)
    finding(pbx, severity=Severity.MEDIUM)
    page = client_for(viewer).get(report_url(pbx.organization, pbx)).content.decode()
    assert 'class="grade grade-D"' in page
    assert "12 points" in page
    assert "How the grade is worked out" in page and "critical 10, high 5, medium 2, low 1" in page
    counts = section(page, "counts-heading")
    assert re.search(r"<dt>Critical</dt><dd><a[^>]*\?severity=critical\">1</a>", counts)


def test_no_findings_says_every_rule_category_passed(client_for, viewer, pbx):
    audited(connection_of(pbx.organization, "Branch"))
    page = client_for(viewer).get(report_url(pbx.organization)).content.decode()
    assert "No findings" in page
    assert "All 12 rule categories passed on 2 connections" in page
    assert 'class="grade grade-A"' in page


def test_no_matches_offers_to_clear_the_filters(client_for, viewer, pbx):
    finding(pbx)
    page = client_for(viewer).get(report_url(pbx.organization), {"q": "zebra"}).content.decode()
    assert "No findings match" in page and "“<bdi>zebra</bdi>”" in page


def test_before_the_first_audit_the_report_says_so(client_for, viewer, organization):
    connection_of(organization)
    page = client_for(viewer).get(report_url(organization)).content.decode()
    assert "Not audited yet" in page
    assert "No grade until the first audit" in page


def test_without_connections_admins_are_offered_to_add_one(client_for, admin, organization):
    page = client_for(admin).get(report_url(organization)).content.decode()
    assert "No phone system is connected yet" in page
    assert reverse("connection_create", args=[organization.pk]) in page


def test_rules_that_could_not_run_are_listed_with_the_reason(client_for, viewer, organization):
    old = connection_of(organization, "Old PBX")
    audited(
        old,
        rules_skipped=[
            {"rule": "routing.nowhere", "reason": "InboundRules is not available on this version."}
        ],
    )
    page = client_for(viewer).get(report_url(organization)).content.decode()
    skipped = section(page, "skipped-heading")
    assert "on Old PBX: InboundRules is not available on this version." in skipped
    assert reverse("reports:rule", args=["routing.nowhere"]) in skipped


def test_an_organisation_report_lists_each_connection_with_its_last_audit(client_for, viewer, pbx):
    AuditState.objects.filter(connection=pbx).update(critical=2, high=1)
    page = client_for(viewer).get(report_url(pbx.organization)).content.decode()
    audits = section(page, "audits-heading")
    assert reverse("reports:connection", args=[pbx.organization_id, pbx.pk]) in audits
    assert '>2<span class="visually-hidden"> critical</span>' in audits
    assert "Re-run audit" not in audits  # a viewer cannot


# --- re-running an audit ---------------------------------------------------------------------


def test_admins_re_run_an_audit_and_watch_it_until_it_finishes(
    client_for, admin, pbx, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "dashboard.reports.tasks.reports_audit.delay", lambda run_id: sent.append(run_id)
    )
    client = client_for(admin)
    assert "Re-run audit" in client.get(report_url(pbx.organization, pbx)).content.decode()
    rerun = reverse("reports:audit_rerun", args=[pbx.organization_id, pbx.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(rerun, headers={"HX-Request": "true"})
    run = AuditRun.objects.get(connection=pbx)
    assert sent == [str(run.pk)]
    assert run.trigger == AuditRun.Trigger.MANUAL and run.requested_by == admin
    poll = reverse("reports:audit_run", args=[pbx.organization_id, pbx.pk, run.pk])
    assert f'hx-get="{poll}"' in response.content.decode()

    while_running = client.get(poll, headers={"HX-Request": "true"})
    assert while_running.status_code == 200 and f'hx-get="{poll}"' in while_running.content.decode()
    # The page shows the run in progress to whoever opens it meanwhile.
    assert f'hx-get="{poll}"' in client.get(report_url(pbx.organization, pbx)).content.decode()

    AuditRun.objects.filter(pk=run.pk).update(
        status=AuditRun.Status.SUCCEEDED, finished_at=timezone.now(), opened=3, resolved=1
    )
    finished = client.get(poll, headers={"HX-Request": "true"})
    assert finished.status_code == 286  # htmx stops polling
    assert finished["HX-Trigger"] == "auditFinished"  # the report reloads its findings
    assert "3 new" in finished.content.decode() and "1 resolved" in finished.content.decode()
    assert f'hx-get="{poll}"' not in finished.content.decode()


def test_re_running_without_javascript_goes_back_to_the_report(client_for, admin, pbx, monkeypatch):
    monkeypatch.setattr("dashboard.reports.tasks.reports_audit.delay", lambda run_id: None)
    response = client_for(admin).post(
        reverse("reports:audit_rerun", args=[pbx.organization_id, pbx.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == report_url(pbx.organization, pbx)


def test_viewers_cannot_re_run_an_audit(client_for, viewer, pbx):
    response = client_for(viewer).post(
        reverse("reports:audit_rerun", args=[pbx.organization_id, pbx.pk])
    )
    assert response.status_code == 403
    assert not AuditRun.objects.exists()


def test_a_row_whose_severity_differs_from_its_groups_shows_its_own(client_for, viewer, pbx):
    rule = "tollfraud.external_forwarding"
    finding(pbx, rule=rule, severity=Severity.CRITICAL, summary="User 101 forwards abroad")
    finding(pbx, rule=rule, severity=Severity.HIGH, summary="User 102 forwards next door")
    page = results(client_for(viewer).get(report_url(pbx.organization)).content.decode())
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    abroad = next(row for row in rows if "forwards abroad" in row)
    next_door = next(row for row in rows if "forwards next door" in row)
    assert "severity-" not in abroad  # the group's badge says it
    assert '<span class="severity severity-high">High</span>' in next_door


def test_every_groups_table_has_the_same_columns_and_dates_do_not_wrap(client_for, viewer, pbx):
    finding(pbx)
    finding(pbx, rule="security.admin_without_2fa", severity=Severity.CRITICAL)
    page = results(client_for(viewer).get(report_url(pbx.organization)).content.decode())
    assert page.count('<table class="table finding-table">') == 2
    colgroups = re.findall(r"<colgroup>.*?</colgroup>", page)
    assert len(colgroups) == 2 and colgroups[0] == colgroups[1]
    assert 'class="col-date"' in colgroups[0]
    assert page.count('<td class="nowrap"><time') == 2


def test_each_re_run_button_names_its_connection_when_there_are_several(client_for, admin, pbx):
    audited(connection_of(pbx.organization, "Branch"))
    audits = section(
        client_for(admin).get(report_url(pbx.organization)).content.decode(), "audits-heading"
    )
    assert 'Re-run audit<span class="visually-hidden"> of Branch</span></button>' in audits
    assert 'Re-run audit<span class="visually-hidden"> of Main PBX</span></button>' in audits


# --- the trend chart -------------------------------------------------------------------------


def snapshot(connection, days_ago: int, **counts) -> None:
    FindingSnapshot.objects.create(
        connection=connection,
        organization=connection.organization,
        day=timezone.localdate() - timedelta(days=days_ago),
        **counts,
    )


def test_the_chart_waits_for_the_first_audit(client_for, viewer, pbx):
    trend = section(
        client_for(viewer).get(report_url(pbx.organization)).content.decode(), "trend-heading"
    )
    assert "<svg" not in trend and "No history yet" in trend


def test_one_day_is_drawn_as_dots(client_for, viewer, pbx):
    snapshot(pbx, 0, critical=1, high=2)
    trend = section(
        client_for(viewer).get(report_url(pbx.organization)).content.decode(), "trend-heading"
    )
    assert trend.count("<circle") == 4 and "<polyline" not in trend
    assert '<title id="trend-title">' in trend
    assert re.search(
        r"<desc id=\"trend-desc\">On .*: 1 critical, 2 high, 0 medium, 0 low.</desc>", trend
    )


def test_many_days_are_lines_with_a_table_of_the_numbers(client_for, viewer, pbx):
    branch = connection_of(pbx.organization, "Branch")
    for days_ago in range(30, -1, -1):
        snapshot(pbx, days_ago, medium=30 - days_ago)
    snapshot(branch, 10, critical=2)  # not audited since: it still counts on later days
    trend = section(
        client_for(viewer).get(report_url(pbx.organization)).content.decode(), "trend-heading"
    )
    assert trend.count("<polyline") == 4
    assert "<circle" not in trend
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", trend)
    assert len(rows) == 31
    assert "<td>2</td><td>0</td><td>30</td><td>0</td><td>32</td>" in rows[0]  # today first
    assert "went from 0 to 32" in trend


def test_the_organisation_dashboard_cards_show_unresolved_findings_by_severity(
    client_for, viewer, pbx
):
    AuditState.objects.filter(connection=pbx).update(critical=3, low=12)
    page = client_for(viewer).get(reverse("organization_home", args=[pbx.organization_id]))
    card = page.content.decode()
    report = report_url(pbx.organization, pbx)
    assert f'href="{report}?severity=critical">3</a>' in card
    assert f'href="{report}?severity=low">12</a>' in card
    assert f'href="{report}">Audit report</a>' in card


def test_the_chart_scales_to_its_card(client_for, viewer, pbx):
    snapshot(pbx, 0, critical=1)
    trend = section(
        client_for(viewer).get(report_url(pbx.organization)).content.decode(), "trend-heading"
    )
    svg = re.search(r"<svg [^>]*>", trend).group(0)
    assert 'viewBox="0 0 960 240"' in svg and 'class="trend-chart"' in svg
    assert "width=" not in svg.replace("stroke-width", "")  # CSS sizes it: the card's width


def test_the_report_links_to_the_members_own_e_mail_digest(client_for, viewer, pbx):
    page = client_for(viewer).get(report_url(pbx.organization)).content.decode()
    digest = reverse("reports:digest_settings", args=[pbx.organization.pk])
    assert f'<a href="{digest}">E-mail digest</a>' in page
