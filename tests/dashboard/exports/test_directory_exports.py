"""Exporting directory tabs and change histories: the file holds exactly the rows the screen
selects (search, filters, sort, every page), with the listing's columns, in CSV or XLSX."""

import csv
import io
from urllib.parse import urlencode

import openpyxl
import pytest
from django.urls import reverse

from dashboard.directory.models import DirectoryEntry, EntryKind, SyncChange, SyncRun
from dashboard.exports import querysets, services, writers
from dashboard.exports.models import Export
from dashboard.tenants.models import Activity
from tests.dashboard.exports.conftest import AWKWARD_NAMES, entries_url

pytestmark = pytest.mark.django_db

CREATE = reverse("exports:create")


def export_form(organization, source="directory.entries", *, kwargs=None, params=None, **extra):
    return {
        "source": source,
        "org": str(organization.pk) if organization else "",
        "kwargs": urlencode(kwargs or {}),
        "params": urlencode(params or {}, doseq=True),
        "format": "csv",
        "bom": "1",
        **extra,
    }


def csv_of(response, *, bom: bool = True) -> list[dict[str, str]]:
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf") == bom
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_of(response) -> list[dict]:
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def contacts_in(connection):
    return DirectoryEntry.objects.visible().filter(connection=connection, kind=EntryKind.CONTACT)


def test_a_tab_exports_every_row_with_awkward_text_intact(
    client_for, viewer, organization, contacts
):
    response = client_for(viewer).post(
        CREATE,
        export_form(organization, kwargs={"kind": "contacts", "connection_id": contacts.pk}),
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="main-pbx-contacts-')
    rows = csv_of(response)
    expected = contacts_in(contacts).order_by("name", "pk")
    assert [int(row["3CX Id"]) for row in rows] == [e.external_id for e in expected]
    names = [row["Name"] for row in rows]
    for name in AWKWARD_NAMES:
        spreadsheet_safe = f"'{name}" if name.startswith(("=", "+")) else name
        assert spreadsheet_safe in names
    assert {row["Phone"] for row in rows} == {"+14155550107", "0044 20 7946 0018"}
    assert list(rows[0])[:4] == ["Connection", "3CX Id", "Name", "First name"]


def test_the_listings_search_filters_and_sort_are_applied(
    client_for, viewer, organization, contacts
):
    params = {
        "q": "Ünïcode",
        "entry_type": "Business",
        "sort": "-name",
        "page": "2",
        "per_page": "10",
    }
    response = client_for(viewer).post(
        CREATE,
        export_form(
            organization,
            kwargs={"kind": "contacts", "connection_id": contacts.pk},
            params=params,
            bom="",
        ),
    )
    rows = csv_of(response, bom=False)
    expected = (
        contacts_in(contacts)
        .filter(company="Ünïcode GmbH", entry_type="Business")
        .order_by("-name", "-pk")
    )
    assert expected.count() >= 2
    assert [int(row["3CX Id"]) for row in rows] == [e.external_id for e in expected]


def test_xlsx_round_trips_the_same_rows_with_phone_numbers_as_text(
    client_for, viewer, organization, contacts
):
    response = client_for(viewer).post(
        CREATE,
        export_form(
            organization,
            kwargs={"kind": "contacts", "connection_id": contacts.pk},
            params={"sort": "name"},
            format="xlsx",
        ),
    )
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = xlsx_of(response)
    expected = contacts_in(contacts).order_by("name", "pk")
    assert [row["3CX Id"] for row in rows] == [e.external_id for e in expected]
    assert [row["Name"] for row in rows] == [e.name for e in expected]  # text, never formulas
    assert {row["Mobile"] for row in rows} == {"0612345678"}
    assert {row["Phone"] for row in rows} == {"+14155550107", "0044 20 7946 0018"}


def test_all_fields_adds_every_stored_key_and_never_a_secret(
    client_for, viewer, organization, make_connection, add_entry
):
    connection = make_connection()
    add_entry(
        connection,
        EntryKind.USER,
        name="Ada",
        number="100",
        data={"Id": 1, "FirstName": "Ada", "AuthPassword": "hunter2", "Groups": [{"Id": 3}]},
    )
    add_entry(connection, EntryKind.USER, name="Bob", number="101", data={"Id": 2, "Mobile": "07"})
    response = client_for(viewer).post(
        CREATE,
        export_form(
            organization,
            kwargs={"kind": "users", "connection_id": connection.pk},
            all_fields="1",
        ),
    )
    rows = csv_of(response)
    # A stored key named like one of the tab's columns is told apart.
    assert list(rows[0])[-4:] == ["FirstName", "Groups", "Id", "Mobile (3CX)"]
    assert "AuthPassword" not in rows[0] and "hunter2" not in str(rows)
    assert rows[0]["Groups"] == '[{"Id": 3}]' and rows[1]["Mobile (3CX)"] == "07"


def test_a_tab_across_several_connections_goes_to_the_background(
    client_for, viewer, organization, make_connection, add_entry, django_capture_on_commit_callbacks
):
    first, second = make_connection("First"), make_connection("Second")
    add_entry(first, name="Ann")
    add_entry(second, name="Bea")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(viewer).post(
            CREATE, export_form(organization, kwargs={"kind": "contacts"})
        )
    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    assert len(callbacks) == 1
    assert export.status == Export.Status.QUEUED and export.rows_total == 2
    assert export.title == "Contacts of Acme Telecom"


def test_htmx_is_sent_to_the_background_exports_page_by_a_client_redirect(
    client_for, viewer, organization, make_connection, add_entry, settings
):
    settings.EXPORT_DIRECT_MAX_ROWS = 0
    connection = make_connection()
    add_entry(connection, EntryKind.USER, name="Ada")
    response = client_for(viewer).post(
        CREATE,
        export_form(organization, kwargs={"kind": "users", "connection_id": connection.pk}),
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == reverse("exports:detail", args=[Export.objects.get().pk])


def test_the_organisation_wide_tab_of_a_single_connection_streams(
    client_for, viewer, organization, contacts
):
    rows = csv_of(
        client_for(viewer).post(CREATE, export_form(organization, kwargs={"kind": "contacts"}))
    )
    assert len(rows) == len(AWKWARD_NAMES)


def test_every_export_is_recorded_once_with_its_filters(client_for, viewer, organization, contacts):
    client_for(viewer).post(
        CREATE,
        export_form(
            organization,
            kwargs={"kind": "contacts", "connection_id": contacts.pk},
            params={"q": "Zoë", "entry_type": "Business", "sort": "-name"},
            format="xlsx",
        ),
    )
    activity = Activity.objects.get(action="export.created")
    assert activity.organization == organization and activity.actor == viewer
    assert activity.target_label == "Contacts of Main PBX"
    assert activity.details == {
        "source": "directory.entries",
        "format": "xlsx",
        "filters": "Search “Zoë”; Contact type: Business; sorted by Name (descending)",
        "rows": contacts_in(contacts).filter(name__contains="Zoë", entry_type="Business").count(),
        "all_fields": False,
        "bom": False,
        "background": False,
    }


# --- who may export ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, organization, contacts):
    response = client.post(CREATE, export_form(organization, kwargs={"kind": "contacts"}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_outsiders_get_404_and_nothing_is_recorded(client_for, outsider, organization, contacts):
    client = client_for(outsider)
    for kwargs in ({"kind": "contacts"}, {"kind": "contacts", "connection_id": contacts.pk}):
        assert client.post(CREATE, export_form(organization, kwargs=kwargs)).status_code == 404
    assert not Activity.objects.filter(action="export.created").exists()


def test_a_connection_of_another_organisation_is_404_through_ones_own(
    client_for, outsider, organization, contacts
):
    own = outsider.memberships.get().organization
    form = export_form(own, kwargs={"kind": "contacts", "connection_id": contacts.pk})
    assert client_for(outsider).post(CREATE, form).status_code == 404


def test_provider_staff_may_export_what_they_read(
    client_for, provider_staff, organization, contacts
):
    response = client_for(provider_staff).post(
        CREATE, export_form(organization, kwargs={"kind": "contacts"})
    )
    assert len(csv_of(response)) == len(AWKWARD_NAMES)
    assert Activity.objects.get(action="export.created").organization == organization


@pytest.mark.parametrize(
    "change",
    [
        {"source": "nothing.here"},
        {"kwargs": "kind=secrets"},
        {"kwargs": "kind=contacts&connection_id=not-a-uuid"},
    ],
)
def test_an_unknown_list_is_404(client_for, viewer, organization, contacts, change):
    form = export_form(organization, kwargs={"kind": "contacts"}) | change
    assert client_for(viewer).post(CREATE, form).status_code == 404


@pytest.mark.parametrize("change", [{"format": "pdf"}, {"source": ""}, {"org": "not-a-uuid"}])
def test_a_malformed_form_is_refused_saying_why(client_for, viewer, organization, change):
    response = client_for(viewer).post(CREATE, export_form(organization) | change)
    assert response.status_code == 400
    assert "This export cannot be made" in response.content.decode()


def test_a_get_of_the_create_url_is_not_allowed(client_for, viewer):
    assert client_for(viewer).get(CREATE).status_code == 405


# --- change history ------------------------------------------------------------------------------


@pytest.fixture
def changes(contacts, organization):
    runs = [
        SyncRun.objects.create(
            organization=organization, connection=contacts, status=SyncRun.Status.SUCCEEDED
        )
        for _ in range(2)
    ]
    made = [
        SyncChange.objects.create(
            run=runs[0],
            connection=contacts,
            kind=EntryKind.USER,
            external_id=1,
            label="Zoë Müller",
            action=SyncChange.Action.ADDED,
        ),
        SyncChange.objects.create(
            run=runs[1],
            connection=contacts,
            kind=EntryKind.USER,
            external_id=1,
            label="Zoë Müller",
            action=SyncChange.Action.CHANGED,
            fields={"FirstName": ["Zoe", "Zoë"], "Mobile": ["", "+14155550107"]},
        ),
        SyncChange.objects.create(
            run=runs[1],
            connection=contacts,
            kind=EntryKind.CONTACT,
            external_id=2,
            label="王秀英",
            action=SyncChange.Action.REMOVED,
        ),
    ]
    return runs, made


def test_a_connections_change_history_exports_as_listed(
    client_for, viewer, organization, contacts, changes
):
    runs, _ = changes
    response = client_for(viewer).post(
        CREATE,
        export_form(
            organization,
            "directory.changes",
            kwargs={"connection_id": contacts.pk},
            params={"kind": "user"},
        ),
    )
    rows = csv_of(response)
    assert list(rows[0]) == ["Sync", "Entry", "Kind", "Change", "What changed"]
    assert [(r["Entry"], r["Change"]) for r in rows] == [
        ("Zoë Müller", "Changed"),
        ("Zoë Müller", "Added"),
    ]
    assert rows[0]["What changed"] == "FirstName: Zoe → Zoë\nMobile: (none) → +14155550107"
    assert rows[0]["Sync"] == runs[1].created_at.isoformat(timespec="seconds")


def test_one_syncs_changes_export_without_the_sync_column(
    client_for, viewer, organization, contacts, changes
):
    runs, _ = changes
    response = client_for(viewer).post(
        CREATE, export_form(organization, "directory.changes", kwargs={"run_id": runs[1].pk})
    )
    rows = csv_of(response)
    assert list(rows[0]) == ["Entry", "Kind", "Change", "What changed"]
    assert [r["Entry"] for r in rows] == ["王秀英", "Zoë Müller"]
    assert rows[0]["What changed"] == "No longer on the phone system"


def test_another_organisations_sync_is_404(client_for, outsider, organization, changes):
    runs, _ = changes
    own = outsider.memberships.get().organization
    form = export_form(own, "directory.changes", kwargs={"run_id": runs[0].pk})
    assert client_for(outsider).post(CREATE, form).status_code == 404


# --- the menu ---------------------------------------------------------------------------------


def test_the_tab_offers_the_export_menu_with_its_current_filters(
    client_for, viewer, organization, contacts
):
    page = (
        client_for(viewer)
        .get(
            entries_url(organization, connection=contacts),
            {"q": "Zoë", "page": "1", "per_page": "10"},
        )
        .content.decode()
    )
    assert '<details class="export-menu"' in page
    assert f'action="{CREATE}"' in page and 'name="csrfmiddlewaretoken"' in page
    assert 'name="params" value="q=Zo%C3%AB"' in page
    assert f'name="kwargs" value="kind=contacts&amp;connection_id={contacts.pk}"' in page
    assert 'name="bom" value="1" id="export-directory-entries-bom" checked' in page
    assert 'name="all_fields"' in page
    assert "Big exports are prepared in the background" in page


def test_a_live_search_updates_the_menus_filters_out_of_band(
    client_for, viewer, organization, contacts
):
    fragment = (
        client_for(viewer)
        .get(
            entries_url(organization, connection=contacts),
            {"q": "王", "sort": "-name"},
            headers={"HX-Request": "true", "HX-Target": "directory-results"},
        )
        .content.decode()
    )
    assert 'id="export-directory-entries-state" hx-swap-oob="true"' in fragment
    assert 'name="params" value="q=%E7%8E%8B&amp;sort=-name"' in fragment


def test_the_change_history_offers_the_export_menu(
    client_for, viewer, organization, contacts, changes
):
    runs, _ = changes
    for url, kwargs in (
        (
            reverse("connection_changes", args=[organization.pk, contacts.pk]),
            f"connection_id={contacts.pk}",
        ),
        (reverse("sync_run_changes", args=[organization.pk, runs[1].pk]), f"run_id={runs[1].pk}"),
    ):
        page = client_for(viewer).get(url).content.decode()
        assert 'value="directory.changes"' in page
        assert f'name="kwargs" value="{kwargs}"' in page
        assert 'name="all_fields"' not in page


def test_entries_export_is_the_same_query_as_the_listing(
    client_for, viewer, organization, contacts
):
    """The listing view and the export both read through `entry_filterset`: what the page
    shows first is what the export starts with."""
    params = {"q": "e", "sort": "name"}
    page = client_for(viewer).get(entries_url(organization, connection=contacts), params)
    rows = csv_of(
        client_for(viewer).post(
            CREATE,
            export_form(
                organization,
                kwargs={"kind": "contacts", "connection_id": contacts.pk},
                params=params,
            ),
        )
    )
    shown = page.context["page"].object_list
    assert [int(r["3CX Id"]) for r in rows][: len(shown)] == [e.external_id for e in shown]
    assert len(rows) == page.context["page"].paginator.count


# --- read while written ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_streamed_export_whose_client_goes_away_stops_reading(
    monkeypatch, client_for, viewer, organization, contacts, other_connections
):
    """Outside a transaction the rows are read on a connection of their own; closing the
    response (as the server does when its client disconnects) closes it."""
    monkeypatch.setattr(querysets, "BATCH_ROWS", 1)
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(writers, "_CHUNK_SIZE", 1)
    response = client_for(viewer).post(
        CREATE,
        export_form(organization, kwargs={"kind": "contacts", "connection_id": contacts.pk}),
    )
    assert next(iter(response.streaming_content))
    assert other_connections == [{"closed": False}]
    response.close()
    assert other_connections == [{"closed": True}]


@pytest.mark.django_db(transaction=True)
def test_a_background_export_reads_apart_and_reports_its_progress(
    monkeypatch, viewer, organization, contacts, other_connections
):
    monkeypatch.setattr(querysets, "BATCH_ROWS", 2)
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 4)
    export = Export.objects.create(
        organization=organization,
        requested_by=viewer,
        source="directory.entries",
        kwargs={"kind": "contacts", "connection_id": str(contacts.pk)},
        format=Export.Format.CSV,
        title="Contacts of Main PBX",
        filename="main-pbx-contacts.csv",
    )
    reported = []
    heartbeat = services.job_heartbeat

    def recorded(job, **fields):
        reported.append(fields.get("rows_written"))
        return heartbeat(job, **fields)

    monkeypatch.setattr(services, "job_heartbeat", recorded)
    export = services.export_run(export_id=export.pk)
    assert export.status == Export.Status.SUCCEEDED, export.error
    assert export.rows_written == len(AWKWARD_NAMES)
    assert reported == [None, 4, 8, 9]
    with export.file.open("rb") as file:
        rows = list(csv.DictReader(io.StringIO(file.read().decode("utf-8-sig"), newline="")))
    expected = contacts_in(contacts).order_by("name", "pk")
    assert [int(row["3CX Id"]) for row in rows] == [e.external_id for e in expected]
    assert other_connections == [{"closed": True}]
