"""Paging through collections of servers that answer fewer rows than asked, or miscount.

A short page does not end a collection: only an empty page does, or, when `@odata.count` can
be believed, receiving that many rows. The count is believed only when it is an integer from
0 to MAX_TRUSTED_COUNT that is not smaller than the first page.
"""

import json

import pytest
import requests

from integrations.threecx import errors
from integrations.threecx.odata import MAX_TRUSTED_COUNT
from integrations.threecx.simulator import Fault
from tests.integrations.threecx.clients import simulator_client
from tests.integrations.threecx.stubs import TOKEN, Answer

#: Contacts are a fifth of the 30,000 of the PBX that showed the bug: still 60 capped pages.
USERS, CONTACTS = 1_500, 6_000


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def ids(collection) -> list[int]:
    return [item["Id"] for item in collection]


class TestAServerThatCapsItsPages:
    def test_every_user_and_contact_arrives_at_a_cap_of_100_rows(self, make_simulator):
        server = make_simulator(users=USERS, contacts=CONTACTS, max_page_size=100)
        client = simulator_client(server, page_size=500)
        users = client.collection("Users", select=["Id", "Number"])
        contacts = client.collection("Contacts", select=["Id", "FirstName"])
        assert len(set(ids(users))) == USERS
        assert len(set(ids(contacts))) == CONTACTS
        assert (users.total, users.pages_read) == (USERS, 15)
        assert (contacts.total, contacts.pages_read) == (CONTACTS, CONTACTS // 100)

    def test_the_cap_set_over_the_control_api_is_honoured_too(self, make_simulator):
        server = make_simulator(users=USERS)
        requests.post(
            f"{server.base_url}/_simulator/faults",
            json={"match": "^/xapi/v1/Users$", "kind": "page_size", "max_page_size": 100},
            timeout=10,
        ).raise_for_status()
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        assert len(set(ids(users))) == USERS
        assert users.pages_read == 15

    def test_without_a_count_it_reads_on_until_an_empty_page(self, make_simulator):
        server = make_simulator(users=USERS, max_page_size=100, odata_count="missing")
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        assert len(set(ids(users))) == USERS
        assert users.total is None
        # 15 pages of rows, then the empty page that ends the collection.
        assert server.simulator.request_count(r"^/xapi/v1/Users$") == 16


class TestCountsThatCannotBeBelieved:
    @pytest.mark.parametrize("odata_count", ["negative", "huge", "missing"])
    def test_every_row_arrives_without_a_total(self, make_simulator, odata_count):
        server = make_simulator(users=USERS, max_page_size=100, odata_count=odata_count)
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        assert len(set(ids(users))) == USERS
        assert users.total is None

    @pytest.mark.parametrize(
        "count",
        [
            -4548194217860088,
            -1,
            2**53,
            2**63 - 1,
            MAX_TRUSTED_COUNT + 1,
            "1500",
            1500.0,
            True,
            None,
            29,  # fewer than the first page holds
        ],
        ids=repr,
    )
    def test_a_count_that_does_not_fit_is_not_shown_as_a_total(self, make_simulator, count):
        server = make_simulator(users=USERS, max_page_size=100)
        server.simulator.faults.add(Fault(match="Users", kind="odata_count", odata_count=count))
        users = simulator_client(server, page_size=30).collection("Users", select=["Id"])
        pages = users.pages()
        assert len(next(pages)) == 30
        assert users.total is None, "known as soon as the first page is read"
        assert len({row["Id"] for page in pages for row in page}) == USERS - 30

    def test_a_sane_count_is_the_total_from_the_first_page_on(self, make_simulator):
        server = make_simulator(users=USERS, max_page_size=100)
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        next(users.pages())
        assert users.total == USERS


class TestRowsThatNeverArrive:
    def test_fewer_rows_than_a_sane_count_is_a_transient_error_naming_both(self, make_simulator):
        server = make_simulator(users=USERS, max_page_size=100)
        server.simulator.faults.add(Fault(match="Users", kind="odata_count", odata_count=1_600))
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        with pytest.raises(errors.RowsMissing) as caught:
            list(users)
        assert not caught.value.permanent, "data that changed while it was read: read again"
        assert "announced 1,600 Users" in str(caught.value)
        assert "after 1,500" in str(caught.value)

    def test_rows_removed_while_paging_are_an_error_not_a_shorter_list(self, make_simulator):
        server = make_simulator(users=USERS, max_page_size=100)
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        pages = users.pages()
        first = next(pages)
        # Removing a row already read shifts every later row one $skip down: one is skipped.
        server.simulator.delete("Users", first[0]["Id"])
        with pytest.raises(errors.RowsMissing):
            list(pages)

    def test_a_server_that_ignores_skip_is_refused_not_read_forever(self, serve):
        page = {"value": [{"Id": 1}, {"Id": 2}]}
        body = Answer(200, {"Content-Type": "application/json"}, json.dumps(page).encode())
        pbx = serve({"/connect/token": TOKEN, "/xapi/v1/Users": body})
        users = simulator_client(pbx, page_size=10).collection("Users", select=["Id"])
        with pytest.raises(errors.BadResponse, match="does not page with \\$skip") as caught:
            list(users)
        assert caught.value.permanent
        assert len([r for r in pbx.received if r.path == "/xapi/v1/Users"]) == 2


class TestWhatTheSyncEngineSees:
    def test_an_empty_collection_yields_no_page_and_a_total_of_zero(self, make_simulator):
        server = make_simulator(parkings=0)
        parkings = simulator_client(server).collection("Parkings")
        assert list(parkings.pages()) == []
        assert parkings.total == 0

    def test_has_more_says_whether_another_page_will_be_asked_for(self, make_simulator):
        server = make_simulator(users=250, max_page_size=100, odata_count="missing")
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        seen = [(len(page), users.has_more) for page in users.pages()]
        # Without a count, a short page may not be the last: only the empty page tells.
        assert seen == [(100, True), (100, True), (50, True)]

    def test_with_a_count_the_last_page_says_there_is_no_more(self, make_simulator):
        server = make_simulator(users=250, max_page_size=100)
        users = simulator_client(server, page_size=500).collection("Users", select=["Id"])
        assert [users.has_more for _ in users.pages()] == [True, True, False]
        assert server.simulator.request_count(r"^/xapi/v1/Users$") == 3
