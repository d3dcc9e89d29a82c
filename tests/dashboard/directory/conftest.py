import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from dashboard.directory.tasks import directory_sync
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_save
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.conftest import make_simulator, simulator  # noqa: F401 - fixtures
from tests.workers import wait_until, worker_settled


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


@pytest.fixture
def connection_to(organization):
    """connection_to(server) -> a saved ThreeCXConnection of `organization` to that simulator."""

    def connect(server, *, name="Main PBX", client_secret=CLIENT_SECRET):
        connection = ThreeCXConnection(
            organization=organization, name=name, base_url=server.base_url, client_id=CLIENT_ID
        )
        return connection_save(connection=connection, client_secret=client_secret)

    return connect


@pytest.fixture
def connection(simulator, connection_to) -> ThreeCXConnection:  # noqa: F811 - a fixture
    """A connection to `simulator`."""
    return connection_to(simulator)


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, float | None]]:
    """Sync tasks sent, as (run id, countdown); they are recorded instead of reaching a broker."""
    sent: list[tuple[str, float | None]] = []

    def apply_async(args, countdown=None, **options):
        sent.append((args[0], countdown))

    monkeypatch.setattr(directory_sync, "apply_async", apply_async)
    return sent


#: What a worker process needs to reach the in-process simulator (its settings are its own),
#: with small pages so that a run can be caught in the middle of a collection.
WORKER_ENVIRONMENT = {
    "THREECX_ALLOW_HTTP": "true",
    "THREECX_ALLOWED_ADDRESSES": "127.0.0.1",
    "THREECX_PAGE_SIZE": "20",
    "DIRECTORY_SYNC_STALE_AFTER": "10",
}


@pytest.fixture
def simulator_worker(transactional_db, monkeypatch) -> Iterator[Callable[[], subprocess.Popen]]:
    """start() -> a real `celery worker` process of this test's own, which may call the
    simulator (see WORKER_ENVIRONMENT) and runs in a process group of its own, so that
    `tests.workers.worker_kill` kills it with all its children."""
    from tests.workers import celery_worker

    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with ExitStack() as workers:

        def start() -> subprocess.Popen:
            return workers.enter_context(celery_worker(own_process_group=True))

        yield start


@pytest.fixture(scope="module")
def _module_worker(django_db_setup) -> Iterator[subprocess.Popen]:
    from tests.workers import celery_worker

    with pytest.MonkeyPatch.context() as patch:
        for name, value in WORKER_ENVIRONMENT.items():
            patch.setenv(name, value)
        with celery_worker() as process:
            yield process


@pytest.fixture
def shared_worker(_module_worker, transactional_db) -> Iterator[subprocess.Popen]:
    """A real worker like `simulator_worker`'s, started once for all the tests of a module
    (starting and stopping one takes seconds). Do not kill it; do not mix the two in a
    module: both would take tasks from the same queue."""
    assert _module_worker.poll() is None, "the module's worker process has died"
    yield _module_worker
    # A worker of the test's own would finish the audit that follows a sync as it stopped.
    wait_until(worker_settled, what="the worker never finished the syncs and audits")
