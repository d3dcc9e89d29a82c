"""Exporting the activity log and the members list: the rows, order and columns of the page,
every page of it, to whoever may open the page."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dashboard.exports.sources import ExportScope, export_source_get
from dashboard.exports.tables import ExportTable
from dashboard.exports.writers import csv_cell, csv_chunks, xlsx_write
from dashboard.tenants.models import Activity, Membership
from tests.factories import ActivityFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

#: Text a spreadsheet and a CSV parser both get wrong when an export is careless.
AWKWARD = [
    "Zoë Ñúñez-Åberg",
    "山田 太郎",
    "مريم الحسيني",
    "Ana 🎉 Party",
    'Bob "The Builder" O\'Neil, Jr.',
    "Line one\nline two",
    '=HYPERLINK("http://evil.example","click")',
    "+14155550107 / 07",
    "+14155550107",
    "0044 20 7946 0000",
]


def scope_for(user, organization, query: str = "", *, all_fields: bool = False) -> ExportScope:
    return ExportScope(
        user=user, organization=organization, params=QueryDict(query), all_fields=all_fields
    )


def build(key: str, user, organization, query: str = "", **options) -> ExportTable:
    return export_source_get(key).build(scope_for(user, organization, query, **options))


def csv_rows(table: ExportTable, *, bom: bool = True) -> list[list[str]]:
    """The table written as CSV and read back as a spreadsheet program would."""
    data = b"".join(csv_chunks(table, bom=bom))
    assert data.startswith(b"\xef\xbb\xbf") is bom
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(table: ExportTable) -> list[list[object]]:
    out = io.BytesIO()
    xlsx_write(table, out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def csv_time(value) -> str:
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def xlsx_time(value):
    return timezone.localtime(value).replace(tzinfo=None)


def same_instant(read, expected) -> bool:
    # Excel keeps times as fractions of a day: a read-back time is within a millisecond.
    return abs(read - xlsx_time(expected)) < timedelta(milliseconds=1)


def log(organization, count: int, **fields) -> list[Activity]:
    return [ActivityFactory(organization=organization, **fields) for _ in range(count)]


class TestActivityExport:
    def test_it_holds_the_filtered_log_newest_first_with_the_pages_columns(
        self, organization, admin
    ):
        for index, name in enumerate(AWKWARD):
            ActivityFactory(
                organization=organization,
                actor_label=name,
                action="member.role_changed",
                target_label=f"{name} #{index}",
                details={"from": "viewer", "to": "admin"},
                ip_address="203.0.113.7",
            )
            ActivityFactory(organization=organization, actor_label=name, action="member.invited")
        ActivityFactory(actor_label=AWKWARD[0], action="member.role_changed")  # another org
        query = QueryDict(mutable=True)
        query["action"] = "member.role_changed"
        table = build("tenants.activity", admin, organization, query.urlencode())
        expected = list(
            Activity.objects.filter(
                organization=organization, action="member.role_changed"
            ).order_by("-created_at", "-id")
        )
        assert table.count() == len(expected) == len(AWKWARD)

        header, *rows = csv_rows(table)
        assert header == ["When", "Who", "What", "Details", "Target", "From"]
        assert rows == [
            [
                csv_time(entry.created_at),
                csv_cell(entry.actor_label),
                "Changed a member's role",
                "viewer → admin",
                csv_cell(entry.target_label),
                "203.0.113.7",
            ]
            for entry in expected
        ]

        header, *rows = xlsx_rows(table)
        assert header[:2] == ["When", "Who"]
        assert [row[1:] for row in rows] == [
            [
                entry.actor_label,
                "Changed a member's role",
                "viewer → admin",
                entry.target_label,
                "203.0.113.7",
            ]
            for entry in expected
        ]
        assert all(
            same_instant(row[0], e.created_at) for row, e in zip(rows, expected, strict=True)
        )

    def test_formula_looking_text_is_neutralised_but_phone_numbers_keep_their_plus(
        self, organization, admin
    ):
        for name in AWKWARD:
            ActivityFactory(organization=organization, actor_label="a", target_label=name)
        rows = csv_rows(build("tenants.activity", admin, organization))[1:]
        targets = {row[4] for row in rows}
        assert '\'=HYPERLINK("http://evil.example","click")' in targets
        assert "'+14155550107 / 07" in targets
        assert {"+14155550107", "0044 20 7946 0000", "Line one\nline two"} <= targets

    def test_it_holds_every_page_in_the_pages_order(self, client_for, organization, admin):
        for index in range(120):
            ActivityFactory(organization=organization, target_label=f"target-{index:03d}")
        client = client_for(admin)
        url = reverse("activity_list", args=[organization.pk])
        on_screen = []
        for page in (1, 2, 3):
            html = client.get(url, {"page": page}).text
            on_screen += re.findall(r"<td>(target-\d{3})</td>", html)
        assert len(on_screen) == 120
        exported = [row[4] for row in csv_rows(build("tenants.activity", admin, organization))[1:]]
        assert exported == on_screen

    def test_details_are_written_in_words(self, organization, admin):
        ActivityFactory(
            organization=organization,
            action="organization.updated",
            details={"changes": {"name": ["Old Name", "New Name"], "require_mfa": [False, True]}},
        )
        ActivityFactory(
            organization=organization,
            action="connection.updated",
            details={"base_url": "https://pbx.example.com", "secret_changed": True},
        )
        ActivityFactory(organization=organization, action="member.joined", details={})
        rows = csv_rows(build("tenants.activity", admin, organization))[1:]
        assert [row[3] for row in rows] == [
            "",
            "base url: https://pbx.example.com; secret changed: yes",
            "name: Old Name → New Name; require mfa: no → yes",
        ]

    def test_its_filters_are_described_in_the_pages_words(self, organization, admin):
        ActivityFactory(organization=organization, actor_label="山田 太郎")
        query = QueryDict(mutable=True)
        query.update({"actor": "山田 太郎", "action": "member.invited"})
        table = build("tenants.activity", admin, organization, query.urlencode())
        assert table.filters == "Who: 山田 太郎; What: Invited a member; newest first"
        assert table.title == "Activity of Acme Telecom"
        assert table.slug == "acme-telecom-activity"

    def test_a_filter_value_the_page_ignores_is_ignored_too(self, organization, admin):
        log(organization, 3)
        table = build("tenants.activity", admin, organization, "action=bogus")
        assert table.count() == 3 and len(csv_rows(table)) == 4
        assert table.filters == "newest first"

    def test_all_fields_adds_what_the_log_stores(self, organization, admin):
        ActivityFactory(
            organization=organization,
            action="member.role_changed",
            target_type="membership",
            target_id="42",
            details={"from": "viewer", "to": "admin"},
        )
        header, row = csv_rows(build("tenants.activity", admin, organization, all_fields=True))
        assert header[6:] == ["Action", "Target type", "Target ID", "Details (JSON)"]
        assert row[6:] == [
            "member.role_changed",
            "membership",
            "42",
            '{"from": "viewer", "to": "admin"}',
        ]

    def test_without_the_byte_order_mark_the_file_starts_with_the_header(self, organization, admin):
        log(organization, 1)
        assert csv_rows(build("tenants.activity", admin, organization), bom=False)[0][0] == "When"

    def test_only_those_who_may_open_the_log_may_export_it(
        self, organization, owner, admin, viewer, outsider, provider_staff
    ):
        log(organization, 1)
        for user in (owner, admin):
            assert build("tenants.activity", user, organization).count() == 1
        for user in (viewer, provider_staff):  # the page answers them 403 as well
            with pytest.raises(PermissionDenied):
                build("tenants.activity", user, organization)
        with pytest.raises(Http404):
            build("tenants.activity", outsider, organization)
        with pytest.raises(Http404):
            build("tenants.activity", UserFactory(), organization)
        with pytest.raises(Http404):
            build("tenants.activity", admin, None)


class TestMembersExport:
    def test_it_holds_the_members_by_email_with_the_pages_columns(self, organization, owner):
        for index, name in enumerate(AWKWARD):
            first, _, last = name.partition(" ")
            user = UserFactory(email=f"m{9 - index}@example.com", first_name=first, last_name=last)
            MembershipFactory(organization=organization, user=user, role="admin")
        MembershipFactory(role="owner")  # another organisation's
        expected = list(
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("user__email")
        )
        table = build("tenants.members", owner, organization)
        assert table.count() == len(expected) == len(AWKWARD) + 1

        header, *rows = csv_rows(table)
        assert header == ["Email", "Name", "Role", "Since"]
        assert rows == [
            [
                m.user.email,
                csv_cell(m.user.get_full_name()),
                m.get_role_display(),
                csv_time(m.created_at),
            ]
            for m in expected
        ]
        header, *rows = xlsx_rows(table)
        assert [row[:3] for row in rows] == [
            [m.user.email, m.user.get_full_name(), m.get_role_display()] for m in expected
        ]
        assert all(
            same_instant(row[3], m.created_at) for row, m in zip(rows, expected, strict=True)
        )

    def test_it_lists_members_in_the_pages_order(self, client_for, organization, viewer):
        for email in ("zed@example.com", "amy@example.com", "mo@example.com"):
            MembershipFactory(organization=organization, user=UserFactory(email=email))
        html = client_for(viewer).get(reverse("member_list", args=[organization.pk])).text
        on_screen = re.findall(r'<tr id="member-[^"]+">\s*<td>([^<]+?)(?:<| )', html)
        exported = [row[0] for row in csv_rows(build("tenants.members", viewer, organization))[1:]]
        assert exported == on_screen and len(exported) == 4

    def test_everyone_who_may_open_the_page_may_export_it(
        self, organization, viewer, outsider, provider_staff
    ):
        assert build("tenants.members", viewer, organization).count() == 1
        assert build("tenants.members", provider_staff, organization).count() == 1
        with pytest.raises(Http404):
            build("tenants.members", outsider, organization)
        with pytest.raises(Http404):
            build("tenants.members", UserFactory(), organization)


def post_export(client, source: str, organization, params: str = "", **fields):
    """What the export menu posts: CSV with a byte order mark unless told otherwise (a field
    given as "" is left out, as an unticked checkbox is)."""
    data = {"source": source, "org": str(organization.pk), "params": params, "format": "csv"}
    data.update({"bom": "1"} | fields)
    return client.post(reverse("exports:create"), {k: v for k, v in data.items() if v != ""})


def menu_params(html: str) -> dict[str, str]:
    params = re.search(r'name="params" value="([^"]*)"', html)[1]
    return QueryDict(params.replace("&amp;", "&")).dict()


def downloaded(response) -> bytes:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment")
    return b"".join(response.streaming_content)


def parsed_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def parsed_xlsx(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


class TestExportingFromThePages:
    def test_the_activity_menu_carries_the_pages_filters_but_not_its_page(
        self, client_for, organization, admin
    ):
        log(organization, 60, actor_label="山田 太郎")
        url = reverse("activity_list", args=[organization.pk])
        client = client_for(admin)
        page = client.get(url, {"actor": "山田 太郎", "page": "2"}).text
        menu = page.split('class="export-menu"', 1)[1].split("</details>", 1)[0]
        assert 'value="tenants.activity"' in menu
        assert menu_params(menu) == {"actor": "山田 太郎"}
        # Changing a filter swaps the rows only; the menu's filters follow out of band.
        fragment = client.get(url, {"action": "member.invited"}, headers={"HX-Request": "true"})
        state = re.search(
            r'<span id="export-tenants-activity-state" hx-swap-oob="true">.*?</span>', fragment.text
        )
        assert state and menu_params(state[0]) == {"action": "member.invited"}

    def test_the_activity_log_round_trips_through_csv_and_xlsx(
        self, client_for, organization, admin
    ):
        for name in AWKWARD:
            ActivityFactory(organization=organization, actor_label=name, target_label=name)
            ActivityFactory(organization=organization, actor_label="someone else")
        client = client_for(admin)
        params = QueryDict(mutable=True)
        params["actor"] = AWKWARD[1]
        expected = list(Activity.objects.filter(organization=organization, actor_label=AWKWARD[1]))
        rows = parsed_csv(
            downloaded(post_export(client, "tenants.activity", organization, params.urlencode()))
        )
        assert rows[1:] == [
            [
                csv_time(e.created_at),
                csv_cell(e.actor_label),
                e.action_label,
                "",
                csv_cell(e.target_label),
                "",
            ]
            for e in expected
        ]
        # Unfiltered, now with the CSV export's own entry at the top.
        everything = list(
            Activity.objects.filter(organization=organization).order_by("-created_at", "-id")
        )
        assert everything[0].action == "export.created"
        sheet = parsed_xlsx(
            downloaded(post_export(client, "tenants.activity", organization, format="xlsx"))
        )
        assert [(row[1], row[4] or "") for row in sheet[1:]] == [
            (e.actor_label, e.target_label) for e in everything
        ]

    def test_each_export_is_recorded_once_and_is_not_in_its_own_file(
        self, client_for, organization, admin
    ):
        log(organization, 3)
        client = client_for(admin)
        data = downloaded(post_export(client, "tenants.activity", organization, bom=""))
        assert not data.startswith(b"\xef\xbb\xbf")
        assert len(parsed_csv(data)) == 1 + 3
        recorded = Activity.objects.get(organization=organization, action="export.created")
        assert recorded.details["rows"] == 3 and recorded.details["source"] == "tenants.activity"
        assert recorded.target_label == "Activity of Acme Telecom"
        filtered = post_export(client, "tenants.activity", organization, "action=member.invited")
        assert len(parsed_csv(downloaded(filtered))) == 1 + 3
        again = parsed_csv(downloaded(post_export(client, "tenants.activity", organization)))
        exports = [row for row in again[1:] if row[2] == "Exported a table"]
        filtered_words, unfiltered_words = (row[3] for row in exports)
        # In the order the database keeps the details in (PostgreSQL's jsonb sorts keys).
        assert "filters: “What: Invited a member; newest first”" in filtered_words
        assert "filters: newest first;" in unfiltered_words
        assert "rows: 3" in filtered_words and "rows: 3" in unfiltered_words
        assert "format: csv" in filtered_words and "bom: no" in unfiltered_words

    def test_members_round_trip_with_awkward_names(self, client_for, organization, viewer):
        for index, name in enumerate(AWKWARD):
            first, _, last = name.partition(" ")
            user = UserFactory(email=f"n{index}@example.com", first_name=first, last_name=last)
            MembershipFactory(organization=organization, user=user)
        expected = list(
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("user__email")
        )
        client = client_for(viewer)
        page = client.get(reverse("member_list", args=[organization.pk]))
        assert 'value="tenants.members"' in page.text
        rows = parsed_csv(downloaded(post_export(client, "tenants.members", organization)))
        assert rows[0] == ["Email", "Name", "Role", "Since"]
        assert [row[:2] for row in rows[1:]] == [
            [m.user.email, csv_cell(m.user.get_full_name())] for m in expected
        ]
        sheet = parsed_xlsx(
            downloaded(post_export(client, "tenants.members", organization, format="xlsx"))
        )
        assert [row[1] for row in sheet[1:]] == [m.user.get_full_name() for m in expected]

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, organization):
        response = post_export(client, "tenants.members", organization)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))

    def test_outsiders_find_nothing(self, client_for, organization, outsider):
        client = client_for(outsider)
        assert post_export(client, "tenants.members", organization).status_code == 404
        assert post_export(client, "tenants.activity", organization).status_code == 404
        assert not Activity.objects.filter(action="export.created").exists()

    def test_viewers_may_export_members_but_not_the_log_they_cannot_open(
        self, client_for, organization, viewer
    ):
        client = client_for(viewer)
        assert (
            len(parsed_csv(downloaded(post_export(client, "tenants.members", organization)))) == 2
        )
        assert post_export(client, "tenants.activity", organization).status_code == 403
