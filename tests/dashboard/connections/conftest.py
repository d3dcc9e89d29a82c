from tests.dashboard.directory.conftest import connection_to, simulator_allowed  # noqa: F401
from tests.integrations.threecx.conftest import make_simulator, simulator  # noqa: F401
