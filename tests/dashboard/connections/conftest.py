from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection_to,
    simulator_allowed,
    simulator_worker,
)
from tests.integrations.threecx.conftest import make_simulator, simulator  # noqa: F401
