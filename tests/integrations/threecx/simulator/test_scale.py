"""At benchmark size (10,000 users, 200,000 contacts) the simulator starts fast, pages cheaply."""

import time
import tracemalloc

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from integrations.threecx.spec import load_spec
from tests.integrations.threecx.conftest import fetch_token

BIG = SimulatorConfig(users=10_000, contacts=200_000)


@pytest.fixture(scope="module")
def big():
    load_spec()  # parsed once per process; not part of the simulator's start-up
    started = time.perf_counter()
    sim = Simulator(BIG)
    elapsed = time.perf_counter() - started
    with SimulatorServer(sim) as server:
        yield server, elapsed


@pytest.fixture(scope="module")
def big_token(big):
    return fetch_token(big[0]).json()["access_token"]


def get(server, token, path, **params):
    return requests.get(
        f"{server.base_url}/xapi/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_it_starts_in_well_under_five_seconds(big):
    _, elapsed = big
    assert elapsed < 5


def test_it_holds_the_big_directory_in_modest_memory():
    load_spec()
    tracemalloc.start()
    try:
        Simulator(BIG)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024  # about 22 MB today


def test_the_last_contacts_page_builds_only_that_page(big, big_token):
    server, _ = big
    factory = server.simulator.directory.contact_factory
    before = factory.built
    started = time.perf_counter()
    body = get(server, big_token, "/Contacts", **{"$top": 100, "$skip": 199_900, "$count": "true"})
    elapsed = time.perf_counter() - started
    assert body.status_code == 200
    page = body.json()
    assert page["@odata.count"] == 200_000
    assert [c["Id"] for c in page["value"]] == list(range(199_901, 200_001))
    assert factory.built - before <= 300
    assert elapsed < 1


def test_the_last_users_page_is_quick(big, big_token):
    server, _ = big
    started = time.perf_counter()
    body = get(server, big_token, "/Users", **{"$top": 100, "$skip": 9_900, "$select": "Id,Number"})
    assert len(body.json()["value"]) == 100
    assert time.perf_counter() - started < 1


def test_a_key_lookup_on_contacts_does_not_scan(big, big_token):
    server, _ = big
    factory = server.simulator.directory.contact_factory
    before = factory.built
    assert get(server, big_token, "/Contacts(150000)").json()["Id"] == 150_000
    assert factory.built - before <= 3


def test_ordering_contacts_by_key_pages_without_a_scan(big, big_token):
    server, _ = big
    factory = server.simulator.directory.contact_factory
    before = factory.built
    body = get(
        server, big_token, "/Contacts", **{"$orderby": "Id asc", "$skip": 150_000, "$top": 50}
    )
    assert [c["Id"] for c in body.json()["value"]] == list(range(150_001, 150_051))
    assert factory.built - before <= 150
