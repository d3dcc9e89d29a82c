import pytest

from dashboard.storage.models import StorageBrowse
from dashboard.storage.services import storage_browse_execute, storage_browse_request
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.transport import NO_RETRY
from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection_to,
    simulator_allowed,
    simulator_worker,
)
from tests.integrations.threecx.conftest import make_simulator, simulator  # noqa: F401


@pytest.fixture
def browse_now():
    """browse_now(connection, filesystem=..., path=...) -> the finished StorageBrowse.

    Asks in-process what the worker would ask, without retries so that faults answer at once.
    """

    def browse(connection, **arguments) -> StorageBrowse:
        arguments.setdefault("filesystem", "Local")
        queued = storage_browse_request(connection=connection, actor=None, **arguments)
        client = ThreeCXClient.for_connection(connection, retry=NO_RETRY)
        return storage_browse_execute(browse_id=queued.pk, client=client)

    return browse
