"""The token request: through the transport like every request, so never redirected."""

import pytest

from integrations.threecx import errors
from tests.integrations.threecx.clients import CLIENT_SECRET, simulator_client
from tests.integrations.threecx.stubs import TOKEN, Answer

#: What a cloud metadata service answers: credentials, as plain text.
METADATA = Answer(200, {"Content-Type": "text/plain"}, b"AccessKeyId=ASIA-not-for-your-eyes")


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_it_never_follows_a_redirect_from_the_token_endpoint(status, serve):
    internal = serve({}, default=METADATA)
    location = f"http://localhost:{internal.port}/latest/meta-data/iam/credentials"
    pbx = serve({"/connect/token": Answer(status, {"Location": location})})
    with pytest.raises(errors.ThreeCXError) as caught:
        simulator_client(pbx).version()
    assert internal.received == []
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert "to localhost," in message
    assert "meta-data" not in message and "AccessKeyId" not in message
    assert caught.value.permanent
    assert len(pbx.received) == 1, "a redirect is permanent: no retries"


def test_a_redirect_names_only_the_host_of_its_location(serve):
    location = "https://login.example.net/callback?code=abc123&secret=shh"
    pbx = serve({"/connect/token": Answer(302, {"Location": location})})
    with pytest.raises(errors.NotFound) as caught:
        simulator_client(pbx).version()
    assert "login.example.net" in str(caught.value)
    assert "abc123" not in str(caught.value) and "callback" not in str(caught.value)


def test_a_text_answer_to_the_token_request_is_described_never_quoted(serve):
    pbx = serve({"/connect/token": METADATA})
    with pytest.raises(errors.BadResponse) as caught:
        simulator_client(pbx).version()
    message = str(caught.value)
    assert "AccessKeyId" not in message
    assert "text/plain (34 bytes)" in message


def test_the_form_carries_the_client_credentials_and_nothing_is_logged(caplog, serve):
    pbx = serve({"/connect/token": TOKEN}, default=Answer(404))
    client = simulator_client(pbx)
    assert client.tokens.token() == "stub-token"
    (request,) = pbx.received
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"grant_type=client_credentials" in request.body
    assert b"client_id=900" in request.body
    assert CLIENT_SECRET.encode() in request.body
    assert CLIENT_SECRET not in caplog.text and "stub-token" not in caplog.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"token_type": "Bearer", "expires_in": 3600}', "no access_token"),
        (b'{"token_type": "Bearer", "access_token": "t"}', "no valid expires_in"),
        (b'{"token_type": "Bearer", "access_token": "t", "expires_in": "soon"}', "expires_in"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_a_malformed_token_answer_is_a_bad_response(body, message, serve):
    answer = Answer(200, {"Content-Type": "application/json"}, body)
    pbx = serve({"/connect/token": answer})
    with pytest.raises(errors.BadResponse, match=message):
        simulator_client(pbx).tokens.token()


def test_an_oauth_error_in_a_200_answer_is_an_authentication_failure(serve):
    answer = Answer(200, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}')
    pbx = serve({"/connect/token": answer})
    with pytest.raises(errors.AuthenticationFailed, match="invalid_client"):
        simulator_client(pbx).tokens.token()


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials_are_an_authentication_failure_with_the_hint(status, serve):
    answer = Answer(status, {"Content-Type": "text/html"}, b"<h1>nope</h1>")
    pbx = serve({"/connect/token": answer})
    with pytest.raises(errors.AuthenticationFailed) as caught:
        simulator_client(pbx).tokens.token()
    assert errors.AUTH_HINT in str(caught.value)
    assert caught.value.permanent and caught.value.status == status
