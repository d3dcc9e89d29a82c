"""A token is cached for the lifetime its own answer gives, whatever version was stored.

`expires_in` counted minutes before V20 Update 9 and seconds since; a connection last synced
on 20.0.8 and upgraded to 20.0.10 since must not read a fresh 3600 seconds as 60 hours.
"""

import time

import pytest
import requests

from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from tests.factories import OrganizationFactory
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db
HOUR = 3600


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def upgrade(server, how: str, version: str) -> None:
    if how == "python":
        server.simulator.reconfigure(version=version)
    else:
        response = requests.post(
            f"{server.base_url}/_simulator/config", json={"version": version}, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["version"] == version


def cached_for(client: ThreeCXClient) -> float:
    """How many more seconds the shared cache holds the client's token as fresh."""
    return client.tokens._cached().expires_at - time.time()


@pytest.mark.parametrize("how", ["python", "control api"])
def test_a_token_after_an_upgrade_from_20_0_8_to_20_0_10_lives_an_hour_not_60(make_simulator, how):
    server = make_simulator(version="20.0.8", token_lifetime=HOUR)
    connection = connection_save(
        connection=ThreeCXConnection(
            organization=OrganizationFactory(),
            name="PBX",
            base_url=server.base_url,
            client_id=CLIENT_ID,
        ),
        client_secret=CLIENT_SECRET,
    )
    first_sync = ThreeCXClient.for_connection(connection)
    assert first_sync.version() == "20.0.8"
    assert cached_for(first_sync) == pytest.approx(HOUR, abs=60)
    ThreeCXConnection.objects.filter(pk=connection.pk).update(version="20.0.8")

    upgrade(server, how, "20.0.10")
    server.simulator.advance_clock(HOUR)  # the first token has expired on the PBX

    second_sync = ThreeCXClient.for_connection(ThreeCXConnection.objects.get(pk=connection.pk))
    assert second_sync.version() == "20.0.10"
    assert server.simulator.token_requests == 2
    assert cached_for(second_sync) == pytest.approx(HOUR, abs=60)
