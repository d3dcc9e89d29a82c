"""3CX ids are plain int32/int64: negative, zero and very large ones have pages like any."""

import pytest
from django.urls import NoReverseMatch, reverse

from dashboard.directory.models import EntryKind, SyncRun
from tests.dashboard.directory.syncing import fast_client_factory, sync_now, visible
from tests.dashboard.directory.test_views_changes import changes_url

pytestmark = pytest.mark.django_db

EDGE_IDS = (-(2**31), -1, 0, 2**31 - 1, 2**53)
#: The simulator keeps the int32 Ids its spec gives Contacts; a contact it serves with this Id
#: reaches the sync as 2**53 (an int64 Id of other sets), changed where pages arrive.
HUGE_STAND_IN = 1


def huge_id_client(connection):
    client = fast_client_factory()(connection)
    collection = client.collection

    def with_huge_id(name: str, **options):
        paged = collection(name, **options)
        if name == "Contacts":

            def arrived(paged, items) -> None:
                for item in items:
                    if item.get("Id") == HUGE_STAND_IN:
                        item["Id"] = 2**53

            paged.on_page = arrived
        return paged

    client.collection = with_huge_id
    return client


def detail_url(connection, external_id: int) -> str:
    return reverse(
        "directory_entry_detail",
        kwargs={
            "org_id": connection.organization_id,
            "connection_id": connection.pk,
            "kind": "contacts",
            "external_id": external_id,
        },
    )


@pytest.fixture
def edge_connection(make_simulator, connection_to):
    """Synced twice from a server with contacts at the edge ids, renamed in between."""
    server = make_simulator(edge_ids=True)
    connection = connection_to(server)
    run = sync_now(connection, client_factory=huge_id_client)
    assert run.status == SyncRun.Status.SUCCEEDED
    for external_id in EDGE_IDS:
        served_as = HUGE_STAND_IN if external_id == 2**53 else external_id
        server.simulator.update("Contacts", served_as, {"Title": f"Renamed {external_id}"})
    assert sync_now(connection, client_factory=huge_id_client).changed == len(EDGE_IDS)
    return connection


def test_entries_at_the_edge_ids_are_synced(edge_connection):
    contacts = visible(edge_connection, EntryKind.CONTACT)
    assert set(contacts.filter(external_id__in=EDGE_IDS).values_list("external_id", flat=True)) == (
        set(EDGE_IDS)
    )


def test_the_change_history_links_every_edge_id_entry(client_for, viewer, edge_connection):
    response = client_for(viewer).get(changes_url(edge_connection))
    assert response.status_code == 200
    for external_id in EDGE_IDS:
        assert f'href="{detail_url(edge_connection, external_id)}"' in response.text


@pytest.mark.parametrize("external_id", EDGE_IDS)
def test_an_edge_id_entry_has_its_page(client_for, viewer, edge_connection, external_id):
    response = client_for(viewer).get(detail_url(edge_connection, external_id))
    assert response.status_code == 200
    assert f"Renamed {external_id}" in response.text


@pytest.mark.parametrize("external_id", [2**63, -(2**63) - 1])
def test_ids_beyond_64_bits_have_no_url(connection, external_id):
    with pytest.raises(NoReverseMatch):
        detail_url(connection, external_id)


@pytest.mark.parametrize("path_id", ["9223372036854775808", "-9223372036854775809", "1e5", "--1"])
def test_an_id_beyond_64_bits_in_the_address_is_not_found(client_for, viewer, connection, path_id):
    url = detail_url(connection, 1).replace("/1/", f"/{path_id}/")
    assert client_for(viewer).get(url).status_code == 404
