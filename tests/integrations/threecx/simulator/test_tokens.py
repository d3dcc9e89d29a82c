"""The simulator's /connect/token and bearer-token rules, as 3CX V20 applies them."""

import pytest
import requests

from tests.integrations.threecx.conftest import fetch_token

UNAUTHORIZED_BODY = {
    "error": "unauthorized",
    "error_description": "The request requires valid user authentication.",
}


def get_status(server, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.base_url}/xapi/v1/SystemStatus", headers=headers, timeout=10)


class TestIssuing:
    def test_it_issues_a_bearer_token_with_no_refresh_token(self, simulator):
        response = fetch_token(simulator)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["refresh_token"] is None
        assert body["access_token"]
        assert response.headers["Cache-Control"] == "no-store"

    @pytest.mark.parametrize(
        ("version", "expires_in"),
        [
            ("20.0.5", 60),
            ("20.0.8", 60),
            ("20.0.9", 3600),
            ("20.0.10", 3600),
            ("20.0.10.1060", 3600),
        ],
    )
    def test_expires_in_counts_minutes_before_update_9_and_seconds_after(
        self, make_simulator, version, expires_in
    ):
        server = make_simulator(version=version, token_lifetime=3600)
        assert fetch_token(server).json()["expires_in"] == expires_in

    def test_a_new_token_revokes_the_previous_one(self, simulator, token_for):
        first = token_for(simulator)
        assert get_status(simulator, first).status_code == 200
        second = token_for(simulator)
        assert get_status(simulator, first).status_code == 401
        assert get_status(simulator, second).status_code == 200

    def test_tokens_expire_after_their_lifetime(self, simulator, token_for):
        token = token_for(simulator)
        simulator.simulator.advance_clock(simulator.simulator.config.token_lifetime - 5)
        assert get_status(simulator, token).status_code == 200
        simulator.simulator.advance_clock(10)
        assert get_status(simulator, token).status_code == 401

    def test_every_token_request_is_counted_good_or_bad(self, simulator):
        fetch_token(simulator)
        fetch_token(simulator, client_secret="wrong")
        fetch_token(simulator, grant_type="password")
        assert simulator.simulator.token_requests == 3


class TestRefusing:
    @pytest.mark.parametrize(
        "form", [{"client_secret": "wrong"}, {"client_id": "901"}], ids=["secret", "client id"]
    )
    def test_bad_credentials_get_401_with_the_3cx_body(self, simulator, form):
        response = fetch_token(simulator, **form)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED_BODY

    def test_another_grant_type_is_unsupported(self, simulator):
        response = fetch_token(simulator, grant_type="password")
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"

    @pytest.mark.parametrize("missing", ["client_id", "client_secret", "grant_type"])
    def test_a_missing_field_is_an_invalid_request(self, simulator, missing):
        response = fetch_token(simulator, **{missing: ""})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_the_token_endpoint_only_takes_post(self, simulator):
        response = requests.get(f"{simulator.base_url}/connect/token", timeout=10)
        assert response.status_code == 405


class TestBearerRequired:
    def test_xapi_without_a_token_is_401_with_an_empty_body(self, simulator):
        response = get_status(simulator, None)
        assert response.status_code == 401
        assert response.content == b""
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["X-3CX-Version"] == simulator.simulator.config.version

    def test_an_unknown_token_is_401(self, simulator):
        response = get_status(simulator, "not-a-token")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_another_scheme_is_401(self, simulator, token_for):
        token = token_for(simulator)
        response = requests.get(
            f"{simulator.base_url}/xapi/v1/SystemStatus",
            headers={"Authorization": f"Basic {token}"},
            timeout=10,
        )
        assert response.status_code == 401

    def test_revoking_tokens_locks_every_holder_out(self, simulator, token_for):
        token = token_for(simulator)
        simulator.simulator.revoke_tokens()
        assert get_status(simulator, token).status_code == 401
        assert get_status(simulator, token_for(simulator)).status_code == 200

    def test_unknown_paths_also_need_a_token(self, simulator):
        response = requests.get(f"{simulator.base_url}/xapi/v1/NoSuchSet", timeout=10)
        assert response.status_code == 401
