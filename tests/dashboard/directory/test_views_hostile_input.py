"""No query string makes a directory listing fail: hostile values get a message or are
ignored, on SQLite and on PostgreSQL alike, in the page, the fragment and the CSV export."""

import html

import pytest
from django.test import override_settings
from django.urls import reverse

from dashboard.directory.filters import SEARCH_MAX_LENGTH, SEARCH_MAX_WORDS
from dashboard.directory.listings import LISTINGS
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from integrations.threecx.simulator import Simulator, SimulatorServer
from tests.dashboard.directory.test_views_listing import list_url, shown, sync
from tests.factories import OrganizationFactory
from tests.hostile import HOSTILE_VALUES, RAW_QUERY_STRINGS, SHARPEST, everywhere
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import SMALL
from tests.module_data import module_transaction

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true", "HX-Target": "directory-results"}
CHANGES_FRAGMENT = {"HX-Request": "true", "HX-Target": "change-results"}
#: Parameters one of which is made hostile while the others stay valid.
ONE_AT_A_TIME = (
    "q",
    "company",
    "connection",
    "department",
    "entry_type",
    "sort",
    "per_page",
    "page",
    "format",
)


@pytest.fixture(scope="module")
def _synced_of_module(django_db_setup, django_db_blocker):
    """An organisation with a connection synced twice (the second run has changes), written
    once for the module's tests, which only read it (see tests/module_data.py)."""
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
            simulator.simulator.add("Contacts", {"FirstName": "Ana", "LastName": "Novák"})
            sync(connection)
            simulator.simulator.add("Contacts", {"FirstName": "Bea", "LastName": "Dvořák"})
            run = sync(connection)
        yield organization, connection, run


@pytest.fixture
def organization(_synced_of_module):
    return _synced_of_module[0]


@pytest.fixture
def synced(_synced_of_module):
    return _synced_of_module[1:]


def listing_urls(organization, connection, run) -> list[tuple[str, dict[str, str]]]:
    """Every listing with the headers of its fragment: each tab across the organisation and
    of one connection, and the change history of the connection and of one run."""
    return [
        *((list_url(organization, slug), FRAGMENT) for slug in LISTINGS),
        *((list_url(organization, slug, connection), FRAGMENT) for slug in LISTINGS),
        (
            reverse(
                "connection_changes",
                kwargs={"org_id": organization.pk, "connection_id": connection.pk},
            ),
            CHANGES_FRAGMENT,
        ),
        (
            reverse("sync_run_changes", kwargs={"org_id": organization.pk, "run_id": run.pk}),
            CHANGES_FRAGMENT,
        ),
    ]


def answer_of(client, url: str, data=None, headers=None) -> int:
    """The status, after reading a streamed export to its end (where its queries run)."""
    response = client.get(url, data, headers=headers)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


@pytest.mark.parametrize(("name", "value"), HOSTILE_VALUES, ids=[n for n, _ in HOSTILE_VALUES])
def test_a_hostile_value_in_every_parameter_never_fails_a_listing(
    client_for, viewer, organization, synced, name, value
):
    connection, run = synced
    client = client_for(viewer)
    for url, fragment in listing_urls(organization, connection, run):
        params = everywhere(value)
        assert answer_of(client, url, params) == 200, url
        assert answer_of(client, url, params, fragment) == 200, url
        if "/connections/" not in url:  # a connection's export is the same code, narrowed
            assert answer_of(client, url, params | {"format": "csv"}) == 200, url


@pytest.mark.parametrize(
    ("name", "query"), RAW_QUERY_STRINGS, ids=[n for n, _ in RAW_QUERY_STRINGS]
)
def test_a_malformed_query_string_never_fails_a_listing(
    client_for, viewer, organization, synced, name, query
):
    connection, run = synced
    client = client_for(viewer)
    for url, _ in listing_urls(organization, connection, run):
        assert answer_of(client, f"{url}?{query}") == 200, url
        assert answer_of(client, f"{url}?{query}&format=csv") == 200, url


@pytest.mark.parametrize(
    ("name", "value"),
    [(n, v) for n, v in HOSTILE_VALUES if n in SHARPEST],
    ids=[n for n, _ in HOSTILE_VALUES if n in SHARPEST],
)
def test_a_hostile_value_in_one_parameter_leaves_the_others_working(
    client_for, viewer, organization, synced, name, value
):
    """Alone, a hostile value meets valid neighbours: a sort, a page size, a filter."""
    client = client_for(viewer)
    valid = {"sort": "-name", "per_page": "10", "enabled": "yes", "q": "a", "company": "a"}
    for slug in ("users", "contacts"):
        for parameter in ONE_AT_A_TIME:
            params = valid | {parameter: value}
            assert answer_of(client, list_url(organization, slug), params) == 200, parameter


def test_a_search_of_a_thousand_words_is_refused_with_a_message_and_the_list_still_shows(
    client_for, viewer, organization, synced
):
    words = " ".join(["ada"] * 1000)
    response = client_for(viewer).get(list_url(organization), {"q": words})
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert f"A search can have {SEARCH_MAX_WORDS} words; this one has 1,000." in text
    assert 'id="id_q_errors"' in response.text
    assert len(shown(response)) == 30  # the search is ignored, not the listing


def test_a_search_too_long_is_refused_in_the_fragment_too(client_for, viewer, organization, synced):
    response = client_for(viewer).get(
        list_url(organization, "contacts"), {"company": "x" * 5000}, headers=FRAGMENT
    )
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert f"A search can be {SEARCH_MAX_LENGTH} characters long; this one has 5,000." in text
    assert 'id="id_company_errors" class="error" role="alert" hx-swap-oob="true"' in response.text


def test_a_search_of_ten_words_still_searches(client_for, viewer, organization, synced):
    response = client_for(viewer).get(list_url(organization, "contacts"), {"q": "Novák " * 10})
    assert "A search can" not in response.text
    assert len(shown(response)) == 1


@pytest.mark.parametrize("value", ["Ada\x00", "Ada\x01", "Ada\x1b[0m", "Ada\nLovelace"])
def test_control_characters_in_a_search_are_refused_with_a_message(
    client_for, viewer, organization, synced, value
):
    response = client_for(viewer).get(list_url(organization), {"q": value})
    assert response.status_code == 200
    assert "Search contains" in html.unescape(response.text)


def test_the_search_box_stops_at_the_longest_search(client_for, viewer, organization, synced):
    response = client_for(viewer).get(list_url(organization))
    assert f'maxlength="{SEARCH_MAX_LENGTH}"' in response.text
