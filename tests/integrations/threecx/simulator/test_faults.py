"""Injected faults, seen from a plain `requests` client over real HTTP."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from integrations.threecx.simulator import Fault

USERS = r"^/xapi/v1/Users"


def add(server, **fields) -> Fault:
    return server.simulator.faults.add(Fault(**fields))


class TestKinds:
    def test_latency_delays_then_answers_normally(self, xapi, simulator):
        add(simulator, match=USERS, kind="latency", delay=0.3)
        started = time.monotonic()
        response = xapi.get("/Users", params={"$top": 1})
        assert time.monotonic() - started >= 0.3
        assert response.status_code == 200

    def test_a_status_fault_answers_an_odata_error_with_retry_after(self, xapi, simulator):
        add(simulator, match=USERS, kind="status", status=429, retry_after=2)
        response = xapi.get("/Users")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
        error = response.json()["error"]
        assert error["code"] == "429"
        assert error["message"]

    @pytest.mark.parametrize("status", [503, 500, 404, 403, 401])
    def test_any_status_can_be_injected(self, xapi, simulator, status):
        add(simulator, match=USERS, kind="status", status=status)
        response = xapi.get("/Users")
        assert response.status_code == status
        assert "Retry-After" not in response.headers
        assert response.json()["error"]["code"] == str(status)

    def test_malformed_json_is_a_200_that_does_not_parse(self, xapi, simulator):
        add(simulator, match=USERS, kind="malformed_json")
        response = xapi.get("/Users")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)

    def test_a_truncated_body_promises_more_than_it_sends(self, xapi, simulator):
        add(simulator, match=USERS, kind="truncated")
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            xapi.get("/Users")

    def test_a_truncated_body_arrives_cut_when_read_raw(self, xapi, simulator):
        add(simulator, match=USERS, kind="truncated")
        response = xapi.get("/Users", stream=True)
        promised = int(response.headers["Content-Length"])
        received = response.raw.read(promised, decode_content=False)
        assert response.status_code == 200
        assert 0 < len(received) < promised

    def test_a_reset_closes_the_connection_without_an_answer(self, xapi, simulator):
        add(simulator, match=USERS, kind="reset", times=1)
        with pytest.raises(requests.exceptions.ConnectionError):
            xapi.get("/Users")
        assert xapi.get("/Users").status_code == 200

    def test_revoke_token_revokes_every_token_and_answers_401(self, xapi, simulator, token_for):
        add(simulator, match=USERS, kind="revoke_token", times=1)
        response = xapi.get("/Users")
        assert response.status_code == 401
        assert response.content == b""
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert xapi.get("/Groups").status_code == 401
        xapi.headers["Authorization"] = f"Bearer {token_for(simulator)}"
        assert xapi.get("/Users").status_code == 200

    def test_the_token_endpoint_can_fail_too(self, simulator):
        add(simulator, match=r"^/connect/token$", kind="status", status=503, retry_after=1)
        response = requests.post(f"{simulator.base_url}/connect/token", data={}, timeout=10)
        assert response.status_code == 503
        assert simulator.simulator.token_requests == 1


class TestCounting:
    def test_times_limits_how_many_requests_are_hit(self, xapi, simulator):
        fault = add(simulator, match=USERS, kind="status", status=429, retry_after=2, times=3)
        statuses = [xapi.get("/Users", params={"$top": 1}).status_code for _ in range(5)]
        assert statuses == [429, 429, 429, 200, 200]
        assert simulator.simulator.faults.fired(fault) == 3

    def test_skip_lets_the_first_requests_through(self, xapi, simulator):
        add(simulator, match=USERS, kind="status", status=500, skip=2, times=1)
        statuses = [xapi.get("/Users", params={"$top": 1}).status_code for _ in range(4)]
        assert statuses == [200, 200, 500, 200]

    def test_a_fault_only_hits_matching_paths_and_methods(self, xapi, simulator):
        add(simulator, match=r"^/xapi/v1/Groups$", method="POST", kind="status", status=500)
        assert xapi.get("/Groups").status_code == 200
        assert xapi.get("/Users").status_code == 200
        assert xapi.post("/Groups", json={"Name": "Ops"}).status_code == 500

    def test_clearing_faults_restores_normal_answers(self, xapi, simulator):
        add(simulator, match=USERS, kind="status", status=503)
        assert xapi.get("/Users").status_code == 503
        simulator.simulator.faults.clear()
        assert xapi.get("/Users").status_code == 200

    def test_counting_is_exact_under_concurrent_clients(self, simulator, token_for):
        add(simulator, match=USERS, kind="status", status=503, times=7)
        token = token_for(simulator)

        def one(_):
            return requests.get(
                f"{simulator.base_url}/xapi/v1/Users",
                params={"$top": 1},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).status_code

        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(one, range(40)))
        assert statuses.count(503) == 7
        assert statuses.count(200) == 33

    def test_request_count_matches_paths(self, xapi, simulator):
        xapi.get("/Users")
        xapi.get("/Users(1)")
        xapi.get("/Groups")
        assert simulator.simulator.request_count(r"^/xapi/v1/Users") == 2
        assert simulator.simulator.request_count(r"^/xapi/v1/Users$", method="GET") == 1

    @pytest.mark.parametrize(
        "fields",
        [
            {"match": "x", "kind": "explode"},
            {"match": "(", "kind": "status"},
            {"match": "x", "status": 99},
            {"match": "x", "times": -1},
        ],
    )
    def test_a_nonsensical_fault_is_refused(self, fields):
        with pytest.raises(ValueError):
            Fault(**fields)


class TestControlApi:
    def test_faults_can_be_added_and_cleared_over_http(self, xapi, simulator):
        control = f"{simulator.base_url}/_simulator/faults"
        created = requests.post(
            control,
            json={"match": USERS, "kind": "status", "status": 429, "retry_after": 1},
            timeout=10,
        )
        assert created.status_code == 201
        assert created.json()["fault"]["status"] == 429
        assert xapi.get("/Users").status_code == 429
        assert requests.delete(control, timeout=10).status_code == 204
        assert xapi.get("/Users").status_code == 200

    def test_a_bad_fault_over_http_is_a_400(self, simulator):
        response = requests.post(
            f"{simulator.base_url}/_simulator/faults",
            json={"match": USERS, "kind": "nope"},
            timeout=10,
        )
        assert response.status_code == 400
        assert "unknown fault kind" in response.json()["error"]

    def test_the_control_api_is_never_faulted(self, simulator):
        add(simulator, match=".*", kind="status", status=500)
        assert requests.get(f"{simulator.base_url}/_simulator/stats", timeout=10).status_code == 200
