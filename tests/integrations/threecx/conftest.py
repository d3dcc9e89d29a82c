"""Fixtures for everything that talks to a 3CX server: a simulated one over real HTTP.

`simulator` is a small Simulator served on a free loopback port (the server object, with
`.simulator` and `.base_url`); `make_simulator(**config)` starts more, with other settings;
`token_for(server)` fetches a token from any simulator server; `xapi` is a requests session
already authenticated against `simulator`.
"""

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from tests.integrations.threecx.stubs import serve  # noqa: F401 - a fixture

SMALL = SimulatorConfig(
    seed=7,
    users=30,
    contacts=120,
    groups=4,
    queues=3,
    ring_groups=3,
    receptionists=2,
    trunks=3,
    parkings=2,
)


class XapiSession(requests.Session):
    """A session whose relative URLs ("/Users") go to the simulator's /xapi/v1."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if url.startswith("/"):
            url = f"{self.base_url}/xapi/v1{url}"
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


def fetch_token(server: SimulatorServer, **form: str) -> requests.Response:
    config = server.simulator.config
    data = {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "grant_type": "client_credentials",
        **form,
    }
    return requests.post(f"{server.base_url}/connect/token", data=data, timeout=10)


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(Simulator(SMALL)) as server:
        yield server


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., SimulatorServer]]:
    """make_simulator(version="20.0.8", ...) -> a running server; SMALL with those changes."""
    servers: list[SimulatorServer] = []

    def make(**overrides: Any) -> SimulatorServer:
        server = SimulatorServer(Simulator(dataclasses.replace(SMALL, **overrides))).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def token_for() -> Callable[[SimulatorServer], str]:
    """token_for(server) -> a fresh access token from that simulator server."""

    def issue(server: SimulatorServer) -> str:
        response = fetch_token(server)
        response.raise_for_status()
        return response.json()["access_token"]

    return issue


@pytest.fixture
def xapi(simulator: SimulatorServer, token_for) -> Iterator[XapiSession]:
    with XapiSession(simulator.base_url, token_for(simulator)) as session:
        yield session
