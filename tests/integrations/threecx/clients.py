"""Building clients against the in-process simulator for tests."""

from integrations.threecx.client import ThreeCXClient
from integrations.threecx.transport import RetryPolicy

CLIENT_ID = "900"
CLIENT_SECRET = "simulator-secret"
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=2)


def simulator_client(server, **overrides) -> ThreeCXClient:
    options = {
        "base_url": server.base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "retry": FAST_RETRY,
        "timeout": 5,
    }
    options.update(overrides)
    return ThreeCXClient(**options)
