"""Directory listings over a directory synced from the simulator: pages, fragments, CSV."""

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import reverse

from dashboard.directory.listings import LISTINGS
from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind, SyncRun
from dashboard.directory.sync import sync_run_execute
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorServer
from tests.factories import OrganizationFactory
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import SMALL
from tests.module_data import module_transaction

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true", "HX-Target": "directory-results"}
ROW_LINK = re.compile(r'<a href="/orgs/[^"]+/connections/[^"]+/directory/[a-z-]+/(\d+)/">')


def sync(connection, *, confirm_removals: bool = False) -> SyncRun:
    run = SyncRun.objects.create(
        organization=connection.organization,
        connection=connection,
        confirm_removals=confirm_removals,
    )
    run = sync_run_execute(run_id=run.pk, worker="test")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


@pytest.fixture(scope="module")
def _synced_of_module(django_db_setup, django_db_blocker):
    """An organisation with a connection synced from the simulator, written once for the
    tests of the module that only read it (see tests/module_data.py)."""
    with module_transaction(django_db_blocker) as writing:
        with (
            writing(),
            override_settings(THREECX_ALLOW_HTTP=True, THREECX_ALLOWED_ADDRESSES=["127.0.0.1"]),
            SimulatorServer(Simulator(SMALL)) as simulator,
        ):
            organization = OrganizationFactory(name="Acme Telecom")
            connection = connection_save(
                connection=ThreeCXConnection(
                    organization=organization,
                    name="Main PBX",
                    base_url=simulator.base_url,
                    client_id=CLIENT_ID,
                ),
                client_secret=CLIENT_SECRET,
            )
            sync(connection)
        yield organization, connection


@pytest.fixture
def organization(request):
    """The synced organisation for the tests of its directory (`synced`); a new one, with no
    connection yet, for the others."""
    if "synced" in request.fixturenames:
        return request.getfixturevalue("_synced_of_module")[0]
    return OrganizationFactory(name="Acme Telecom")


@pytest.fixture
def synced(_synced_of_module):
    return _synced_of_module[1]


@pytest.fixture
def synced_alone(simulator, connection_to):
    """A connection synced for one test only: for a test that changes the simulator."""
    connection = connection_to(simulator)
    sync(connection)
    return connection


def list_url(organization, slug: str = "users", connection=None) -> str:
    if connection is not None:
        return reverse(
            "connection_directory_list",
            kwargs={"org_id": organization.pk, "connection_id": connection.pk, "kind": slug},
        )
    return reverse("directory_list", kwargs={"org_id": organization.pk, "kind": slug})


def shown(response) -> list[int]:
    """The 3CX ids of the rows, in order."""
    return [int(i) for i in ROW_LINK.findall(response.content.decode())]


def visible(connection, kind: str | None = EntryKind.USER):
    entries = DirectoryEntry.objects.visible().filter(connection=connection)
    return entries.filter(kind=kind) if kind else entries


def user_id(connection, name: str) -> int:
    """The simulator's special user of that name (the first ones; others may share it)."""
    return visible(connection).filter(name=name).order_by("number")[0].external_id


# --- pages and fragments -------------------------------------------------------------------


@pytest.mark.parametrize("slug", LISTINGS)
def test_every_tab_lists_its_entries_for_a_viewer(client_for, viewer, organization, synced, slug):
    response = client_for(viewer).get(list_url(organization, slug))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    assert f'/directory/{slug}/" aria-current="page"' in page
    ids = set(visible(synced, LISTINGS[slug].kind).values_list("external_id", flat=True))
    assert len(shown(response)) == min(len(ids), 50)
    assert set(shown(response)) <= ids
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_gets_the_rows_and_pagination_only(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(
        list_url(organization), {"q": "", "per_page": "10", "enabled": ""}, headers=FRAGMENT
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and "<form" not in page
    assert len(shown(response)) == 10
    assert 'class="pagination"' in page and "Page 1 of 3" in page
    assert "HX-Request" in response["Vary"]
    # The address bar gets the state without the empty fields.
    assert response["HX-Push-Url"] == f"{list_url(organization)}?per_page=10"
    assert 'id="directory-state" hx-swap-oob="true"' in page


def test_a_history_restore_gets_the_whole_page(client_for, viewer, organization, synced):
    response = client_for(viewer).get(
        list_url(organization), headers={**FRAGMENT, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_links_and_the_filter_form_work_without_javascript(
    client_for, viewer, organization, synced
):
    page = client_for(viewer).get(list_url(organization), {"per_page": "10"}).content.decode()
    assert f'<form method="get" action="{list_url(organization)}"' in page
    assert "<noscript>" in page
    assert f'href="{list_url(organization)}?per_page=10&amp;page=2"' in page
    assert f'href="{list_url(organization)}?per_page=10&amp;sort=name"' in page


@pytest.mark.parametrize("kind", ["nobody", "user", "ring_group"])
def test_an_unknown_kind_is_404(client_for, viewer, organization, synced, kind):
    client = client_for(viewer)
    assert client.get(list_url(organization, kind)).status_code == 404
    assert client.get(list_url(organization, kind, synced)).status_code == 404


def test_a_connection_list_shows_only_that_connection(
    client_for, viewer, organization, synced, make_simulator, connection_to
):
    other = connection_to(make_simulator(seed=99, users=12), name="Branch office")
    sync(other)
    client = client_for(viewer)
    everything = client.get(list_url(organization), {"per_page": "100"})
    assert len(shown(everything)) == 30 + 12
    assert '<th scope="col">Connection</th>' in everything.content.decode()
    branch = client.get(list_url(organization, connection=other), {"per_page": "100"})
    assert sorted(shown(branch)) == sorted(e.external_id for e in visible(other))
    filtered = client.get(list_url(organization), {"per_page": "100", "connection": other.pk})
    assert sorted(shown(filtered)) == sorted(shown(branch))


# --- search, filters, sorting, pages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "name"),
    [
        ("Müller", "Zoë Müller"),
        ("王", "伟 王"),
        ("العلي", "محمد العلي"),
        ("כהן", "נועה כהן"),
        ("o'brien", "Siobhán O'Brien"),
        ("Dvořák", "Łukasz Dvořák"),
        ("Østergaard", "Søren Østergaard"),
        ("ada love", "Ada Lovelace"),
        ("Zo", "Zoë Müller"),
    ],
)
def test_search_finds_names_in_any_script(client_for, viewer, organization, synced, term, name):
    response = client_for(viewer).get(list_url(organization), {"q": term}, headers=FRAGMENT)
    found = shown(response)
    assert user_id(synced, name) in found
    for entry in visible(synced).filter(external_id__in=found):
        text = " ".join([entry.number, entry.name, entry.email, entry.mobile, entry.department])
        assert all(word.casefold() in text.casefold() for word in term.split()), entry.name


def test_a_short_word_matches_the_start_of_a_word_only(client_for, viewer, organization, synced):
    client = client_for(viewer)
    ada = user_id(synced, "Ada Lovelace")
    assert ada in shown(client.get(list_url(organization), {"q": "Ad"}))
    assert ada not in shown(client.get(list_url(organization), {"q": "da"}))


def test_search_looks_in_numbers_emails_and_departments(client_for, viewer, organization, synced):
    client = client_for(viewer)
    ada = visible(synced).get(name="Ada Lovelace")
    assert shown(client.get(list_url(organization), {"q": ada.number})) == [ada.external_id]
    assert ada.external_id in shown(client.get(list_url(organization), {"q": "lovelace@"}))
    sales = visible(synced).filter(department__contains="Sales")
    found = shown(client.get(list_url(organization), {"q": "Sales", "per_page": "100"}))
    assert {e.external_id for e in sales} <= set(found)


@pytest.mark.parametrize(
    ("params", "keeps"),
    [
        ({"enabled": "no"}, lambda e: e.enabled is False),
        ({"enabled": "yes"}, lambda e: e.enabled is True),
        ({"registered": "yes"}, lambda e: e.is_registered is True),
        ({"has_email": "no"}, lambda e: e.email == ""),
        ({"has_email": "yes"}, lambda e: e.email != ""),
        ({"require_2fa": "yes"}, lambda e: e.require_2fa is True),
        ({"admin": "yes", "require_2fa": "no"}, lambda e: e.is_admin and not e.require_2fa),
    ],
)
def test_user_filters_keep_exactly_the_matching_users(
    client_for, viewer, organization, synced, params, keeps
):
    response = client_for(viewer).get(list_url(organization), {**params, "per_page": "100"})
    expected = {e.external_id for e in visible(synced) if keeps(e)}
    assert expected, "the simulator should have such users"
    assert set(shown(response)) == expected


def test_the_department_filter_lists_members_of_that_department(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(
        list_url(organization), {"department": "Sales", "per_page": "100"}
    )
    assert '<option value="Sales" selected>Sales</option>' in response.content.decode()
    members = {
        e.external_id
        for e in visible(synced)
        if any(g.get("Name") == "Sales" for g in e.data.get("Groups") or [])
    }
    assert members and set(shown(response)) == members


@pytest.mark.parametrize(
    ("params", "keeps"),
    [
        ({"entry_type": "CRM"}, lambda e: e.entry_type == "CRM"),
        ({"has_email": "no"}, lambda e: e.email == ""),
        ({"company": "Müller"}, lambda e: "Müller" in e.company),
        ({"company": "株式"}, lambda e: e.company.startswith("株式")),
        ({"company": "acme", "has_email": "yes"}, lambda e: "Acme" in e.company and e.email),
    ],
)
def test_contact_filters_keep_exactly_the_matching_contacts(
    client_for, viewer, organization, synced, params, keeps
):
    response = client_for(viewer).get(
        list_url(organization, "contacts"), {**params, "per_page": "100"}
    )
    expected = {e.external_id for e in visible(synced, EntryKind.CONTACT) if keeps(e)}
    assert expected, "the simulator should have such contacts"
    assert set(shown(response)) == expected


def test_queues_ring_groups_and_ivrs_with_missing_members_can_be_picked_out(
    client_for, viewer, organization, synced
):
    client = client_for(viewer)
    numbers = set(visible(synced, None).exclude(number="").values_list("number", flat=True))
    for slug in ("queues", "ring-groups", "ivrs"):
        kind = LISTINGS[slug].kind
        broken = {
            e.external_id
            for e in visible(synced, kind)
            if any(r.target_number not in numbers for r in e.relations.all())
        }
        assert broken, slug
        assert set(shown(client.get(list_url(organization, slug), {"missing": "yes"}))) == broken
        healthy = set(shown(client.get(list_url(organization, slug), {"missing": "no"})))
        assert healthy == {e.external_id for e in visible(synced, kind)} - broken


def test_offline_trunks_can_be_picked_out(client_for, viewer, organization, synced):
    response = client_for(viewer).get(list_url(organization, "trunks"), {"online": "no"})
    offline = {e.external_id for e in visible(synced, EntryKind.TRUNK) if e.is_online is False}
    assert offline and set(shown(response)) == offline
    assert "Offline" in response.content.decode()


@pytest.mark.parametrize(
    ("slug", "sort", "order"),
    [
        ("users", "name", ("name", "pk")),
        ("users", "-name", ("-name", "-pk")),
        ("users", "email", ("email", "pk")),
        ("users", "-number", ("-number", "-pk")),
        ("contacts", "company", ("company", "pk")),
        ("contacts", "-type", ("-entry_type", "-pk")),
    ],
)
def test_sorting_follows_the_column_asked_for(
    client_for, viewer, organization, synced, slug, sort, order
):
    response = client_for(viewer).get(list_url(organization, slug), {"sort": sort})
    entries = visible(synced, LISTINGS[slug].kind).order_by(*order)
    assert shown(response) == [e.external_id for e in entries[:50]]
    page = response.content.decode()
    direction = "descending" if sort.startswith("-") else "ascending"
    assert f'aria-sort="{direction}"' in page


@pytest.mark.parametrize(
    ("slug", "sort"),
    [(slug, c.sort) for slug, listing in LISTINGS.items() for c in listing.columns if c.sort],
)
def test_every_sortable_column_sorts(client_for, viewer, organization, synced, slug, sort):
    client = client_for(viewer)
    for value in (sort, f"-{sort}"):
        response = client.get(list_url(organization, slug), {"sort": value}, headers=FRAGMENT)
        assert response.status_code == 200
        assert "not a column" not in response.content.decode()


def test_pages_follow_the_order(client_for, viewer, organization, synced):
    client = client_for(viewer)
    response = client.get(list_url(organization), {"per_page": "10", "page": "2"})
    ordered = [e.external_id for e in visible(synced).order_by("number", "pk")]
    assert shown(response) == ordered[10:20]


@pytest.mark.parametrize(("page", "expected"), [("9999", "3"), ("abc", "1"), ("-4", "3")])
def test_an_absurd_page_number_shows_a_real_page(
    client_for, viewer, organization, synced, page, expected
):
    response = client_for(viewer).get(list_url(organization), {"per_page": "10", "page": page})
    assert response.status_code == 200
    assert f"Page {expected} of 3" in response.content.decode()


# --- bad input ---------------------------------------------------------------------------------


def test_a_bad_filter_value_is_explained_next_to_its_field_and_the_search_is_kept(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(list_url(organization), {"q": "Ada", "enabled": "maybe"})
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="id_enabled_errors"[^>]*>“maybe” is not an option here', page)
    assert 'value="Ada"' in page
    assert shown(response) == [user_id(synced, "Ada Lovelace")]


def test_a_bad_filter_value_in_a_live_search_updates_the_message_in_place(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(
        list_url(organization), {"department": "Nowhere"}, headers=FRAGMENT
    )
    page = response.content.decode()
    assert re.search(
        r'id="id_department_errors" class="error" role="alert" hx-swap-oob="true">'
        r"“Nowhere” is not in this list any more",
        page,
    )
    assert len(shown(response)) == 30


def test_a_bad_sort_or_page_size_is_explained_and_the_defaults_used(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(list_url(organization), {"sort": "pwd", "per_page": "7"})
    page = response.content.decode()
    assert "“pwd” is not a column this list can sort by." in page
    assert "“7” rows per page is not offered" in page
    assert shown(response) == [e.external_id for e in visible(synced).order_by("number", "pk")]


def test_an_unknown_connection_filter_is_explained(
    client_for, viewer, organization, synced, make_simulator, connection_to
):
    connection_to(make_simulator(seed=3, users=3), name="Second")
    response = client_for(viewer).get(list_url(organization), {"connection": "not-a-uuid"})
    assert "is not in this list any more" in response.content.decode()


# --- CSV -------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_has_every_matching_row_and_no_pagination(
    client_for, viewer, organization, synced
):
    response = client_for(viewer).get(
        list_url(organization, "contacts"), {"format": "csv", "per_page": "10", "page": "2"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="acme-telecom-contacts-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    header, *rows = read_csv(response)
    assert header[:4] == ["Connection", "3CX Id", "Name", "First name"]
    assert len(rows) == visible(synced, EntryKind.CONTACT).count() == 120
    assert {row[0] for row in rows} == {"Main PBX"}


def test_the_csv_export_follows_search_filters_and_sort(client_for, viewer, organization, synced):
    response = client_for(viewer).get(
        list_url(organization),
        {"format": "csv", "q": "Müller", "enabled": "no", "sort": "-number"},
    )
    header, *rows = read_csv(response)
    expected = visible(synced).filter(name__contains="Müller", enabled=False).order_by("-number")
    assert [int(row[1]) for row in rows] == [e.external_id for e in expected]
    zoe = dict(zip(header, rows[0], strict=True))
    assert zoe["Name"] == "Zoë Müller" and zoe["Enabled"] == "no"


def test_the_csv_export_defuses_spreadsheet_formulas(
    client_for, viewer, organization, simulator, synced_alone
):
    simulator.simulator.add(
        "Contacts", {"FirstName": '=HYPERLINK("http://x")', "PhoneNumber": "+44 20 7946 0000"}
    )
    sync(synced_alone)
    response = client_for(viewer).get(list_url(organization, "contacts"), {"format": "csv"})
    header, *rows = read_csv(response)
    row = next(dict(zip(header, r, strict=True)) for r in rows if "HYPERLINK" in r[3])
    assert row["First name"] == '\'=HYPERLINK("http://x")'
    assert row["Phone"] == "+44 20 7946 0000"


def test_the_export_link_carries_the_current_filters(client_for, viewer, organization, synced):
    response = client_for(viewer).get(list_url(organization), {"q": "Ada", "enabled": "yes"})
    link = re.search(r'href="([^"]+)" download>Export CSV', response.content.decode()).group(1)
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query == {"q": ["Ada"], "enabled": ["yes"], "format": ["csv"]}


# --- empty and error states ----------------------------------------------------------------


def test_without_a_connection_an_admin_is_offered_to_add_one(client_for, admin, organization):
    page = client_for(admin).get(list_url(organization)).content.decode()
    assert "No phone system is connected yet" in page
    assert reverse("connection_create", kwargs={"org_id": organization.pk}) in page


def test_without_a_connection_a_viewer_is_told_to_ask_an_admin(client_for, viewer, organization):
    page = client_for(viewer).get(list_url(organization)).content.decode()
    assert "Ask an admin of Acme Telecom" in page
    assert reverse("connection_create", kwargs={"org_id": organization.pk}) not in page


def test_before_the_first_sync_the_page_points_to_sync_now(
    client_for, viewer, organization, simulator, connection_to
):
    connection = connection_to(simulator)
    page = client_for(viewer).get(list_url(organization)).content.decode()
    assert "Not synced yet" in page and "Sync now" in page
    detail = reverse(
        "connection_detail", kwargs={"org_id": organization.pk, "connection_id": connection.pk}
    )
    assert f'href="{detail}"' in page


def test_no_matches_says_so_and_offers_to_clear_the_filters(
    client_for, viewer, organization, synced
):
    page = (
        client_for(viewer)
        .get(list_url(organization), {"q": "Nobody-at-all"}, headers=FRAGMENT)
        .content.decode()
    )
    assert "No users match" in page and "“<bdi>Nobody-at-all</bdi>”" in page
    assert f'href="{list_url(organization)}">Clear search and filters' in page


def test_a_kind_the_phone_system_does_not_have_says_so(
    client_for, viewer, organization, make_simulator, connection_to
):
    sync(connection_to(make_simulator(parkings=0)))
    page = client_for(viewer).get(list_url(organization, "parkings")).content.decode()
    assert "No parkings" in page and "as of the last sync" in page


def test_a_failed_sync_is_shown_with_what_to_do(client_for, viewer, organization, synced):
    SyncRun.objects.create(
        organization=organization,
        connection=synced,
        status=SyncRun.Status.FAILED,
        error="Bad credentials: the client secret was refused.",
    )
    response = client_for(viewer).get(list_url(organization))
    page = response.content.decode()
    assert "<strong>Main PBX</strong>: last sync failed" in " ".join(page.split())
    assert "the client secret was refused" in page
    assert len(shown(response)) == 30  # the directory of the last good sync is still there


def test_failing_connections_get_one_compact_line_each(
    client_for, viewer, organization, synced, make_simulator, connection_to
):
    never_synced = connection_to(make_simulator(client_secret="other"), name="Branch PBX")
    sync_run_execute(
        run_id=SyncRun.objects.create(organization=organization, connection=never_synced).pk
    )
    waiting = connection_to(make_simulator(), name="New PBX")
    SyncRun.objects.create(
        organization=organization,
        connection=synced,
        status=SyncRun.Status.FAILED,
        error="Bad credentials: the client secret was refused.",
    )
    page = client_for(viewer).get(list_url(organization)).content.decode()
    problems = re.findall(r'<li class="sync-problem[^"]*">\s*<strong>([^<]+)</strong>', page)
    assert sorted(problems) == ["Branch PBX", "Main PBX", "New PBX"]
    assert page.count('class="alert') == 0  # no stacked banners
    assert "Branch PBX</strong>: not synced yet; the first sync failed" in " ".join(page.split())
    assert reverse("connection_detail", args=[organization.pk, waiting.pk]) in page


@pytest.fixture
def unnamed_contacts(synced):
    """Two contacts without a name: one listed under its company, one under its number."""
    contacts = visible(synced, EntryKind.CONTACT).order_by("external_id")
    under_company, under_number = contacts[0], contacts[1]
    DirectoryEntry.objects.filter(pk=under_company.pk).update(name="", company="Aardvark Ltd")
    DirectoryEntry.objects.filter(pk=under_number.pk).update(
        name="", company="", phone="+441234567890"
    )
    return under_company, under_number


@pytest.mark.parametrize("sort", ["", "name", "-name"])
def test_contacts_without_a_name_come_last_under_their_company_or_number(
    client_for, viewer, organization, synced, unnamed_contacts, sort
):
    client = client_for(viewer)
    ids, pages = [], []
    for number in ("1", "2"):
        params = {"per_page": "100", "page": number, **({"sort": sort} if sort else {})}
        response = client.get(list_url(organization, "contacts"), params)
        ids += shown(response)
        pages.append(response.content.decode())
    contacts = {c.external_id: c for c in visible(synced, EntryKind.CONTACT)}
    assert len(ids) == len(contacts)
    named = [bool(contacts[i].name) for i in ids]
    assert named == sorted(named, reverse=True)  # every named contact before any unnamed
    assert "<bdi>Aardvark Ltd</bdi></a>" in pages[1]
    assert "<bdi>+441234567890</bdi></a>" in pages[1]


def test_tab_counts_have_thousands_separators(client_for, viewer, organization, synced):
    DirectoryState.objects.filter(connection=synced).update(counts={"user": 30, "contact": 123456})
    page = client_for(viewer).get(list_url(organization)).content.decode()
    assert '<span class="muted">123,456</span>' in page


def test_an_empty_value_shows_as_the_one_muted_dash_read_as_none(
    client_for, viewer, organization, synced
):
    shown_empty = render_to_string("includes/none.html")
    assert 'class="visually-hidden">none<' in shown_empty  # what a screen reader says
    ada = visible(synced).filter(name="Ada Lovelace").order_by("number")[0]
    DirectoryEntry.objects.filter(pk=ada.pk).update(email="", department="", mobile="")
    page = client_for(viewer).get(list_url(organization), {"q": ada.number}).content.decode()
    row = next(row for row in page.split("<tr>") if f'/{ada.external_id}/"' in row)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells.count(shown_empty) == 3  # e-mail, department and mobile alike
