import pytest
from cryptography.fernet import Fernet

from integrations.threecx import errors
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.services import connection_check, connection_save
from tests.factories import OrganizationFactory
from tests.integrations.threecx.clients import CLIENT_ID, CLIENT_SECRET
from tests.integrations.threecx.tls import certificate_authority

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def simulator_allowed(settings):
    settings.THREECX_ALLOW_HTTP = True
    settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]


def new_connection(base_url, secret=CLIENT_SECRET):
    connection = ThreeCXConnection(
        organization=OrganizationFactory(), name="PBX", base_url=base_url, client_id=CLIENT_ID
    )
    return connection_save(connection=connection, client_secret=secret)


def test_saving_normalises_the_address_and_requires_a_secret(simulator):
    connection = new_connection(simulator.base_url + "/xapi/v1/")
    assert connection.base_url == simulator.base_url
    with pytest.raises(errors.InvalidInput, match="client secret is required"):
        connection_save(
            connection=ThreeCXConnection(
                organization=connection.organization, name="Other", base_url=simulator.base_url
            )
        )


def test_an_empty_secret_on_edit_keeps_the_current_one(simulator):
    connection = new_connection(simulator.base_url)
    connection.name = "Renamed"
    connection_save(connection=connection, client_secret="")
    assert ThreeCXConnection.objects.get().client_secret_get() == CLIENT_SECRET


@pytest.mark.parametrize("field", ["base_url", "client_id"])
def test_the_stored_secret_never_follows_a_new_address_or_client_id(simulator, field):
    connection = new_connection(simulator.base_url)
    setattr(connection, field, {"base_url": "http://127.0.0.1:1", "client_id": "901"}[field])
    with pytest.raises(errors.InvalidInput, match="enter the client secret again"):
        connection_save(connection=connection, client_secret="")
    stored = ThreeCXConnection.objects.get()
    assert (stored.base_url, stored.client_id) == (simulator.base_url, CLIENT_ID)


@pytest.mark.parametrize("change", ["verification turned off", "another CA trusted"])
def test_the_stored_secret_is_not_sent_to_a_server_verified_less_than_before(simulator, change):
    connection = new_connection(simulator.base_url)
    if change == "verification turned off":
        connection.verify_tls = False
    else:
        connection.tls_ca_certificates = certificate_authority().pem
    with pytest.raises(errors.InvalidInput, match="enter the client secret again"):
        connection_save(connection=connection, client_secret="")
    stored = ThreeCXConnection.objects.get()
    assert (stored.verify_tls, stored.tls_ca_certificates) == (True, "")


def test_turning_verification_back_on_keeps_the_secret(simulator):
    connection = new_connection(simulator.base_url)
    connection.verify_tls = False
    connection_save(connection=connection, client_secret=CLIENT_SECRET)
    connection.verify_tls = True
    connection_save(connection=connection, client_secret="")
    assert ThreeCXConnection.objects.get().verify_tls is True


def test_refused_addresses_are_not_saved(settings):
    settings.THREECX_ALLOWED_ADDRESSES = []
    with pytest.raises(errors.UnsafeAddress, match="loopback"):
        new_connection("http://127.0.0.1:9")
    assert not ThreeCXConnection.objects.exists()


def test_a_successful_check_records_the_version(simulator):
    connection = new_connection(simulator.base_url)
    result = connection_check(connection=connection)
    assert result.ok
    assert result.status["FQDN"] == simulator.simulator.config.fqdn
    connection.refresh_from_db()
    assert connection.version.startswith(simulator.simulator.config.version)
    assert connection.last_checked_at is not None
    assert connection.last_error == ""


def test_a_failed_check_records_a_permanent_error_that_editing_clears(simulator):
    connection = new_connection(simulator.base_url, secret="wrong")
    result = connection_check(connection=connection)
    assert not result.ok and result.permanent
    connection.refresh_from_db()
    assert connection.last_error.startswith("Authentication failed: ")
    assert connection.last_error_permanent
    assert "wrong" not in connection.last_error
    connection_save(connection=connection, client_secret=CLIENT_SECRET)
    connection.refresh_from_db()
    assert not connection.last_error_permanent


def test_an_undecryptable_secret_is_reported_not_raised(simulator, settings):
    connection = new_connection(simulator.base_url)
    settings.THREECX_SECRET_KEYS = [Fernet.generate_key().decode()]
    result = connection_check(connection=connection)
    assert not result.ok
    assert "Enter the secret again" in result.error
