"""3CX keeps one token per API client: concurrent workers must share it, not knock it out."""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from tests.integrations.threecx.clients import simulator_client
from tests.integrations.threecx.token_worker import ask_version

WORKERS = 8


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def test_concurrent_threads_cause_one_token_request_per_token(simulator):
    barrier = Barrier(WORKERS)

    def worker(_):
        client = simulator_client(simulator)
        barrier.wait()
        return client.version()

    with ThreadPoolExecutor(WORKERS) as pool:
        assert len(set(pool.map(worker, range(WORKERS)))) == 1
    assert simulator.simulator.token_requests == 1

    simulator.simulator.revoke_tokens()
    barrier.reset()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(worker, range(WORKERS)))
    assert simulator.simulator.token_requests == 2


@pytest.mark.redis
def test_concurrent_worker_processes_share_one_token_through_redis(simulator):
    # Forked from a server that has set Django up once: fresh processes, without paying a
    # whole interpreter start and django.setup() for each of them (see token_worker).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([ask_version.__module__])
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(WORKERS) as pool:
            pending = [
                pool.apply_async(ask_version, (simulator.base_url, start)) for _ in range(WORKERS)
            ]
            start.set()
            versions = [result.get(timeout=120) for result in pending]
    assert len(set(versions)) == 1
    assert simulator.simulator.token_requests == 1
