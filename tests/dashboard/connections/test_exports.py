"""Exporting the connection list: each connection as its card shows it (health, sync, counts,
findings), by name, to whoever may open the list; never a secret."""

import html
import re
from datetime import timedelta

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from dashboard.directory.models import DirectoryState, SyncRun
from dashboard.exports.writers import csv_cell
from dashboard.reports.models import AuditState
from dashboard.tenants.models import Organization
from integrations.threecx.models import ThreeCXConnection
from tests.dashboard.tenants.test_exports import (
    AWKWARD,
    build,
    csv_rows,
    csv_time,
    downloaded,
    parsed_csv,
    parsed_xlsx,
    post_export,
    xlsx_rows,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-that-must-never-leave"

CARD_HEADER = [
    "Name",
    "Health",
    "Server address",
    "3CX version",
    "Last error",
    "Sync",
    "Last synced",
    "Last synced (age)",
    "Users",
    "Departments",
    "Contacts",
    "Queues",
    "Ring groups",
    "IVRs",
    "Trunks",
    "Parkings",
    "Inbound rules",
    "Outbound rules",
    "DIDs",
    "SIP devices",
    "Critical findings",
    "High findings",
    "Medium findings",
    "Low findings",
]


def names_in_order(organization: Organization) -> list[str]:
    """The organisation's connection names as the database sorts them (its collation)."""
    connections = ThreeCXConnection.objects.filter(organization=organization).order_by("name")
    return list(connections.values_list("name", flat=True))


def connection_in(organization: Organization, name: str, **fields) -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization,
        name=name,
        base_url=fields.pop("base_url", "https://pbx.example.com"),
        client_id="900",
        **fields,
    )
    connection.client_secret_set(SECRET)
    connection.save()
    return connection


@pytest.fixture
def four_connections(organization):
    """One connection in each health: healthy (synced, audited), failing, disabled, new."""
    synced_at = timezone.now() - timedelta(hours=3)
    healthy = connection_in(organization, "Zürich 山田 🎉", version="20.0.10.123")
    DirectoryState.objects.create(
        connection=healthy, last_success_at=synced_at, counts={"contact": 7, "user": 25}
    )
    AuditState.objects.create(
        connection=healthy, organization=organization, critical=1, high=0, medium=4, low=9
    )
    failing = connection_in(
        organization,
        '"Quoted", branch',
        last_error="Authentication failed:\nthe client secret was refused.",
    )
    SyncRun.objects.create(organization=organization, connection=failing)
    disabled = connection_in(organization, "=SUM(A1:A9)", enabled=False)
    new = connection_in(organization, "مكتب الرياض")
    return {"healthy": healthy, "failing": failing, "disabled": disabled, "new": new}


class TestConnectionListExport:
    def test_each_connection_is_a_row_as_its_card_shows_it_by_name(
        self, organization, viewer, four_connections
    ):
        connection_in(Organization.objects.create(name="Other"), "Other PBX")
        table = build("connections.list", viewer, organization)
        assert table.count() == 4
        header, *rows = csv_rows(table)
        assert header == CARD_HEADER
        by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
        assert [row[0] for row in rows] == [csv_cell(name) for name in names_in_order(organization)]
        healthy = by_name["Zürich 山田 🎉"]
        state = four_connections["healthy"].directory_state
        assert healthy["Health"] == "Healthy"
        assert healthy["Server address"] == "https://pbx.example.com"
        assert healthy["3CX version"] == "20.0.10.123"
        assert healthy["Last synced"] == csv_time(state.last_success_at)
        assert healthy["Last synced (age)"] == "3 hours ago"
        assert (healthy["Users"], healthy["Contacts"], healthy["Queues"]) == ("25", "7", "")
        assert [healthy[f"{s} findings"] for s in ("Critical", "High", "Medium", "Low")] == [
            "1",
            "0",
            "4",
            "9",
        ]
        failing = by_name['"Quoted", branch']
        assert failing["Health"] == "Error"
        assert failing["Last error"] == "Authentication failed:\nthe client secret was refused."
        assert failing["Sync"] == "Queued"
        assert failing["Last synced"] == failing["Users"] == failing["Critical findings"] == ""
        assert by_name["'=SUM(A1:A9)"]["Health"] == "Disabled"
        assert by_name["مكتب الرياض"]["Health"] == "Not synced yet"

    def test_the_spreadsheet_has_typed_cells_and_the_names_as_they_are(
        self, organization, viewer, four_connections
    ):
        header, *rows = xlsx_rows(build("connections.list", viewer, organization))
        assert header == CARD_HEADER
        assert [row[0] for row in rows] == names_in_order(organization)
        healthy = next(dict(zip(header, row, strict=True)) for row in rows if row[1] == "Healthy")
        assert (healthy["Users"], healthy["Contacts"], healthy["Low findings"]) == (25, 7, 9)
        expected = timezone.localtime(four_connections["healthy"].directory_state.last_success_at)
        assert abs(healthy["Last synced"] - expected.replace(tzinfo=None)) < timedelta(
            milliseconds=1
        )

    def test_it_lists_the_connections_in_the_pages_order(
        self, client_for, organization, viewer, four_connections
    ):
        page = client_for(viewer).get(reverse("connection_list", args=[organization.pk])).text
        on_screen = re.findall(r'<h2 id="conn-[^"]+"><a [^>]+>([^<]+)</a>', page)
        exported = [row[0] for row in xlsx_rows(build("connections.list", viewer, organization))]
        assert exported[1:] == [html.unescape(name) for name in on_screen]

    def test_health_reads_as_on_the_cards(self, client_for, organization, viewer, four_connections):
        html = client_for(viewer).get(reverse("connection_list", args=[organization.pk])).text
        on_screen = re.findall(r'title="Connection health">([^<]+)</span>', html)
        exported = [row[1] for row in csv_rows(build("connections.list", viewer, organization))]
        assert exported[1:] == on_screen

    def test_all_fields_adds_the_stored_settings_but_never_a_secret(
        self, organization, viewer, four_connections
    ):
        table = build("connections.list", viewer, organization, all_fields=True)
        header, *rows = csv_rows(table)
        assert header[: len(CARD_HEADER)] == CARD_HEADER
        assert header[len(CARD_HEADER) :] == [
            "Client ID",
            "Verify TLS certificate",
            "Own CA certificate",
            "Request timeout (seconds)",
            "Default country for phone numbers",
            "Enabled",
            "Last error is permanent",
            "Last error at",
            "Last checked at",
            "Sync interval",
            "Created",
            "Changed",
        ]
        disabled = next(dict(zip(header, row, strict=True)) for row in rows if row[1] == "Disabled")
        assert disabled["Enabled"] == "no" and disabled["Verify TLS certificate"] == "yes"
        assert disabled["Request timeout (seconds)"] == "30"
        written = "\n".join(",".join(row) for row in [header, *rows])
        encrypted = four_connections["healthy"].client_secret_encrypted
        assert SECRET not in written and encrypted not in written
        assert "secret" not in " ".join(header).lower()

    def test_members_and_provider_staff_may_export_it_and_nobody_else(
        self, organization, viewer, outsider, provider_staff, four_connections
    ):
        assert build("connections.list", viewer, organization).count() == 4
        assert build("connections.list", provider_staff, organization).count() == 4
        for user in (outsider, UserFactory()):
            with pytest.raises(Http404):
                build("connections.list", user, organization)
        with pytest.raises(Http404):
            build("connections.list", viewer, None)


def test_awkward_names_survive_the_round_trip(organization, viewer):
    for name in AWKWARD:
        connection_in(organization, name)
    names = [row[0] for row in xlsx_rows(build("connections.list", viewer, organization))[1:]]
    assert sorted(names) == sorted(AWKWARD)


class TestExportingFromThePage:
    def test_the_page_offers_the_menu_with_all_fields(
        self, client_for, organization, viewer, four_connections
    ):
        page = client_for(viewer).get(reverse("connection_list", args=[organization.pk])).text
        menu = page.split('class="export-menu"', 1)[1].split("</details>", 1)[0]
        assert 'value="connections.list"' in menu and 'name="all_fields"' in menu

    def test_the_list_round_trips_through_csv_and_xlsx(
        self, client_for, organization, viewer, four_connections
    ):
        client = client_for(viewer)
        names = names_in_order(organization)
        rows = parsed_csv(downloaded(post_export(client, "connections.list", organization)))
        assert rows[0] == CARD_HEADER
        assert [row[0] for row in rows[1:]] == [csv_cell(name) for name in names]
        sheet = parsed_xlsx(
            downloaded(
                post_export(client, "connections.list", organization, format="xlsx", all_fields="1")
            )
        )
        assert [row[0] for row in sheet[1:]] == names
        assert sheet[0][len(CARD_HEADER)] == "Client ID"
        assert SECRET not in repr(sheet)

    def test_provider_staff_may_export_it(self, client_for, organization, provider_staff):
        connection_in(organization, "Head office")
        client = client_for(provider_staff)
        rows = parsed_csv(downloaded(post_export(client, "connections.list", organization)))
        assert [row[0] for row in rows[1:]] == ["Head office"]

    def test_outsiders_and_anonymous_visitors_get_nothing(
        self, client, client_for, organization, four_connections, outsider
    ):
        anonymous = post_export(client, "connections.list", organization)
        assert anonymous.status_code == 302 and "login" in anonymous["Location"]
        outside = post_export(client_for(outsider), "connections.list", organization)
        assert outside.status_code == 404
