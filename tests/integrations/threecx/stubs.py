"""Stand-ins for what the simulator cannot play: an arbitrary web server, and a DNS that lies.

`StubServer` answers on a free loopback port with canned answers by path and records every
request it gets (so a test can assert a server was never reached). `resolve_as` makes one
host name resolve to a sequence of addresses, as a rebinding DNS server would.
"""

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


TOKEN = Answer(
    200,
    {"Content-Type": "application/json"},
    b'{"token_type": "Bearer", "expires_in": 3600, "access_token": "stub-token"}',
)


class StubServer:
    """`with StubServer({"/connect/token": Answer(302, {...})}) as server: ...`"""

    def __init__(self, answers: dict[str, Answer], default: Answer = Answer(404)) -> None:
        self.answers = answers
        self.default = default
        self.received: list[Received] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.stub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "StubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        stub: StubServer = self.server.stub  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        stub.received.append(Received(self.command, path, dict(self.headers.items()), body))
        answer = stub.answers.get(path, stub.default)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_POST = do_HEAD = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def resolve_as(monkeypatch: pytest.MonkeyPatch, name: str, *addresses: str) -> list[str]:
    """Make `name` resolve to addresses[0], then addresses[1]... and the last one from then on.

    Returns the list of addresses handed out, one per lookup of `name`. Other names resolve
    as usual.
    """
    real = socket.getaddrinfo
    pending = list(addresses)
    handed_out: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        if host != name:
            return real(host, port, *args, **kwargs)
        address = pending.pop(0) if len(pending) > 1 else pending[0]
        handed_out.append(address)
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return handed_out


@pytest.fixture
def serve() -> Iterator[Callable[..., StubServer]]:
    """serve(answers, default=...) -> a running StubServer, stopped when the test ends."""
    servers: list[StubServer] = []

    def start(answers: dict[str, Answer], default: Answer = Answer(404)) -> StubServer:
        server = StubServer(answers, default).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
