"""The token endpoint takes the form url-encoded and as multipart/form-data, as 3CX does
(its own generated clients send multipart)."""

import pytest
import requests

from tests.integrations.threecx.simulator.test_tokens import UNAUTHORIZED_BODY, get_status

ENCODINGS = ["urlencoded", "multipart"]


def post_token(server, encoding: str, **changes: str) -> requests.Response:
    config = server.simulator.config
    form = {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "grant_type": "client_credentials",
        **changes,
    }
    url = f"{server.base_url}/connect/token"
    if encoding == "multipart":
        response = requests.post(
            url, files={name: (None, value) for name, value in form.items()}, timeout=10
        )
        assert response.request.headers["Content-Type"].startswith("multipart/form-data")
        return response
    return requests.post(url, data=form, timeout=10)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_token_is_issued_for_either_encoding(simulator, encoding):
    response = post_token(simulator, encoding)
    assert response.status_code == 200
    assert get_status(simulator, response.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_wrong_secret_is_401_in_either_encoding(simulator, encoding):
    response = post_token(simulator, encoding, client_secret="wrong")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED_BODY


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_missing_field_is_an_invalid_request_in_either_encoding(simulator, encoding):
    response = post_token(simulator, encoding, grant_type="")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_multipart_body_that_does_not_parse_is_an_invalid_request(simulator):
    response = requests.post(
        f"{simulator.base_url}/connect/token",
        data=b"client_id=900",
        headers={"Content-Type": "multipart/form-data; boundary=nowhere"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
