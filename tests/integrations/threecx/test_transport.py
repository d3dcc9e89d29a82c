"""The transport over real loopback HTTP(S): which addresses it reaches, and what it trusts."""

import pytest

from integrations.threecx import errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_check
from tests.factories import OrganizationFactory
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET, simulator_client
from tests.integrations.threecx.stubs import TOKEN, Answer, resolve_as
from tests.integrations.threecx.tls import (
    certificate_authority,
    https_simulator,
    server_certificate,
)

PAGE = Answer(200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>Welcome, admin=root</p>")


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


class TestAddresses:
    def test_a_name_rebound_to_loopback_after_the_check_is_never_connected_to(
        self, simulator, monkeypatch, settings
    ):
        settings.THREECX_ALLOWED_ADDRESSES = []
        handed_out = resolve_as(monkeypatch, "pbx.rebind.test", "198.51.100.7", "127.0.0.1")
        client = simulator_client(simulator, base_url=f"http://pbx.rebind.test:{simulator.port}")
        with pytest.raises(errors.UnsafeAddress, match=r"127\.0\.0\.1, a loopback") as caught:
            client.version()
        assert handed_out == ["198.51.100.7", "127.0.0.1"]
        assert simulator.simulator.token_requests == 0
        assert simulator.simulator.request_count(".") == 0
        assert caught.value.permanent

    def test_it_connects_to_the_checked_address_under_the_servers_name(self, monkeypatch, serve):
        pbx = serve({"/connect/token": TOKEN})
        handed_out = resolve_as(monkeypatch, "pbx.pinned.test", "127.0.0.1")
        client = simulator_client(pbx, base_url=f"http://pbx.pinned.test:{pbx.port}")
        assert client.tokens.token() == "stub-token"
        assert pbx.received[0].headers["Host"] == f"pbx.pinned.test:{pbx.port}"
        assert handed_out, "the name was resolved by the guard, not by the system behind it"

    def test_the_guard_applies_on_connecting_even_without_the_check_before(
        self, simulator, settings
    ):
        settings.THREECX_ALLOWED_ADDRESSES = []
        with pytest.raises(errors.UnsafeAddress, match="loopback"):
            simulator_client(simulator, check_address=False).version()
        assert simulator.simulator.request_count(".") == 0


class TestAnswers:
    def test_a_page_instead_of_json_is_described_never_quoted(self, serve):
        pbx = serve({"/connect/token": TOKEN}, default=PAGE)
        with pytest.raises(errors.BadResponse) as caught:
            list(simulator_client(pbx).collection("Groups"))
        message = str(caught.value)
        assert "admin=root" not in message and "Welcome" not in message
        assert "text/html (26 bytes)" in message

    def test_a_content_type_that_is_not_one_is_not_repeated(self, serve):
        odd = Answer(200, {"Content-Type": "AccessKeyId=ASIA secret"}, b"x")
        pbx = serve({"/connect/token": TOKEN}, default=odd)
        with pytest.raises(errors.BadResponse) as caught:
            simulator_client(pbx).system_status()
        assert "AccessKeyId" not in str(caught.value)
        assert "no recognisable content type (1 bytes)" in str(caught.value)

    @pytest.mark.django_db
    def test_the_error_stored_on_the_connection_quotes_nothing_from_the_server(self, serve):
        pbx = serve({"/connect/token": TOKEN}, default=PAGE)
        connection = _connection(pbx.base_url)
        result = connection_check(connection=connection)
        connection.refresh_from_db()
        assert not result.ok
        assert "text/html (26 bytes)" in connection.last_error
        assert "admin=root" not in connection.last_error


class TestTLS:
    @pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
    @pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
    def test_verification_turned_off_stays_off_whatever_the_environment_says(
        self, variable, monkeypatch, tmp_path
    ):
        bundle = tmp_path / "bundle.pem"
        bundle.write_text(certificate_authority("Some other CA").pem)
        monkeypatch.setenv(variable, str(bundle))
        with https_simulator(server_certificate(["127.0.0.1"]), tmp_path) as server:
            assert simulator_client(server, verify_tls=False).version()
            with pytest.raises(errors.ConnectionFailed, match="TLS handshake"):
                simulator_client(server).version()

    @pytest.mark.django_db
    def test_a_private_ca_given_on_the_connection_is_trusted(self, monkeypatch, tmp_path):
        authority = certificate_authority()
        served = server_certificate(["pbx.private.test"], issuer=authority)
        resolve_as(monkeypatch, "pbx.private.test", "127.0.0.1")
        with https_simulator(served, tmp_path) as server:
            connection = _connection(f"https://pbx.private.test:{server.port}")
            with pytest.raises(errors.ConnectionFailed, match="TLS handshake"):
                ThreeCXClient.for_connection(connection).version()

            connection.tls_ca_certificates = authority.pem
            connection.save()
            result = connection_check(connection=connection)
        assert result.ok, result.error
        assert result.version

    def test_the_certificate_must_still_name_the_server(self, monkeypatch, tmp_path):
        authority = certificate_authority()
        served = server_certificate(["someone-else.test"], issuer=authority)
        resolve_as(monkeypatch, "pbx.private.test", "127.0.0.1")
        with https_simulator(served, tmp_path) as server:
            client = simulator_client(
                server,
                base_url=f"https://pbx.private.test:{server.port}",
                ca_certificates=authority.pem,
            )
            with pytest.raises(errors.ConnectionFailed, match="TLS handshake"):
                client.version()

    def test_a_private_ca_replaces_the_public_ones(self, tmp_path):
        served = server_certificate(["127.0.0.1"], issuer=certificate_authority("Right CA"))
        with https_simulator(served, tmp_path) as server:
            client = simulator_client(server, ca_certificates=certificate_authority("Wrong CA").pem)
            with pytest.raises(errors.ConnectionFailed, match="TLS handshake"):
                client.version()


def _connection(base_url: str) -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=OrganizationFactory(), name="PBX", base_url=base_url, client_id=CLIENT_ID
    )
    connection.client_secret_set(CLIENT_SECRET)
    connection.save()
    return connection
