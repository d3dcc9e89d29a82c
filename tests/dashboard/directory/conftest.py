import pytest

from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import make_simulator, simulator  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


@pytest.fixture
def connection_to(organization):
    """connection_to(server) -> a saved ThreeCXConnection of `organization` to that simulator."""

    def connect(server, *, name="Main PBX"):
        connection = ThreeCXConnection(
            organization=organization, name=name, base_url=server.base_url, client_id=CLIENT_ID
        )
        return connection_save(connection=connection, client_secret=CLIENT_SECRET)

    return connect
