from unittest import mock

import pytest

from dashboard.console.models import XapiCall
from dashboard.console.services import xapi_call_execute, xapi_call_request
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.operations.catalogue import operation_get
from integrations.threecx.transport import NO_RETRY
from tests.dashboard.directory.conftest import (  # noqa: F401 - fixtures
    connection_to,
    simulator_allowed,
    simulator_worker,
)
from tests.integrations.threecx.conftest import simulator  # noqa: F401 - a fixture

HTMX = {"HX-Request": "true"}
#: The simulator's first user (SMALL, seed 7).
USER_ID = 5


@pytest.fixture
def connection(simulator, connection_to):  # noqa: F811 - a fixture
    return connection_to(simulator)


@pytest.fixture
def enqueued():
    """The task's `delay`, patched: what a page would have queued for the worker."""
    with mock.patch("dashboard.console.tasks.xapi_call_task.delay") as delay:
        yield delay


@pytest.fixture
def call_now():
    """call_now(connection, "ListUser", params={...}, body=..., actor=...) -> the finished
    XapiCall, sent in-process as the worker sends it (without retries: faults answer at once)."""

    def call(connection, operation_id, *, params=None, body=None, actor=None) -> XapiCall:
        queued = xapi_call_request(
            connection=connection,
            actor=actor,
            operation=operation_get(operation_id),
            params=params or {},
            body=body,
            enqueue=False,
        )
        client = ThreeCXClient.for_connection(connection, retry=NO_RETRY)
        return xapi_call_execute(call_id=queued.pk, client=client)

    return call
