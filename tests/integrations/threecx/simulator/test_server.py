"""SimulatorServer: HTTP/1.1 keep-alive on a free port, clean stops, and the manage.py command."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer

ROOT = Path(__file__).resolve().parents[4]


def test_it_listens_on_a_free_port_and_says_where(simulator):
    assert simulator.base_url == f"http://127.0.0.1:{simulator.port}"
    assert simulator.port > 0
    response = requests.get(f"{simulator.base_url}/_simulator/stats", timeout=10)
    assert response.status_code == 200


def test_one_connection_serves_many_requests(simulator, token_for):
    token = token_for(simulator)
    connection = http.client.HTTPConnection("127.0.0.1", simulator.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/xapi/v1/Defs", headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            assert response.status == 200
            assert response.version == 11
            response.read()
        first_socket = connection.sock
        connection.request("GET", "/xapi/v1/Defs", headers={"Authorization": f"Bearer {token}"})
        connection.getresponse().read()
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_stopping_closes_idle_keep_alive_connections_and_frees_the_port():
    server = SimulatorServer(Simulator(SimulatorConfig(users=5, contacts=5))).start()
    port = server.port
    idle = socket.create_connection(("127.0.0.1", port))
    idle.sendall(b"GET /_simulator/stats HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"}"):
        answer += idle.recv(1024)
    assert answer.startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    server.stop()
    # Far below the 60 s an idle keep-alive connection would otherwise hold the server, and
    # loose enough for a loaded machine.
    assert time.monotonic() - started < 30
    idle.settimeout(30)
    assert idle.recv(1024) == b""
    idle.close()
    with SimulatorServer(server.simulator, port=port) as again:
        assert again.port == port


def test_the_server_answers_like_nginx_fronted_3cx(simulator):
    response = requests.get(f"{simulator.base_url}/xapi/v1/Users", timeout=10)
    assert response.headers["Server"] == "nginx"
    assert response.headers["Content-Length"] == "0"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_the_management_command_serves_until_interrupted(stop_signal):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "manage.py", "threecx_simulator", "--port", "0", "--users", "12",
        "--contacts", "40", "--seed", "3", "--version", "20.0.8", "--client-secret", "s3cret",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert process.stdout.readline().strip() == "client id: 900"
        assert process.stdout.readline().strip() == "client secret: s3cret"
        token = requests.post(
            f"{url}/connect/token",
            data={
                "client_id": "900",
                "client_secret": "s3cret",
                "grant_type": "client_credentials",
            },
            timeout=10,
        ).json()
        assert token["expires_in"] == 60
        users = requests.get(
            f"{url}/xapi/v1/Users",
            params={"$count": "true", "$top": 0},
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        assert users.json()["@odata.count"] == 12
        assert users.headers["X-3CX-Version"] == "20.0.8"
    finally:
        process.send_signal(stop_signal)
        # Generous: the stop itself is event-driven, the bound only keeps a hang from
        # blocking the suite on a loaded machine.
        process.wait(timeout=60)
    assert process.returncode == 0
    assert process.stdout.read().splitlines()[-1] == "stopped"


def test_the_management_command_stops_on_a_signal_that_arrives_while_it_starts():
    """A Ctrl-C during start-up is kept until the server is up, then stops it cleanly."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "manage.py", "threecx_simulator", "--port", "0", "--users", "3"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("3CX XAPI simulator listening on ")
        process.send_signal(signal.SIGINT)  # while the banner is still being written
    finally:
        process.wait(timeout=60)
    assert process.returncode == 0
    assert process.stdout.read().splitlines()[-1] == "stopped"
