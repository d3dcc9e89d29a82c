"""The Django admin's connection form keeps the dashboard's address and secret rules."""

import pytest
from django.urls import reverse

from integrations.threecx.models import ThreeCXConnection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-api-key"
# Literal documentation addresses: nothing is resolved or contacted.
ADDRESS = "https://192.0.2.10:5001"
OTHER_ADDRESS = "https://192.0.2.99"
ADD_URL = reverse("admin:threecx_threecxconnection_add")


def change_url(connection: ThreeCXConnection) -> str:
    return reverse("admin:threecx_threecxconnection_change", args=[connection.pk])


@pytest.fixture(autouse=True)
def strict_guard(settings):
    settings.THREECX_ALLOW_HTTP = False
    settings.THREECX_ALLOWED_ADDRESSES = []


@pytest.fixture
def superuser_client(client):
    """A superuser with MFA set up, as all staff must have to see tenant data."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True, mfa=True))
    return client


@pytest.fixture
def connection(organization) -> ThreeCXConnection:
    connection = ThreeCXConnection(
        organization=organization, name="Main PBX", base_url=ADDRESS, client_id="900"
    )
    connection.client_secret_set(SECRET)
    connection.save()
    return connection


def form_data(organization, **overrides) -> dict[str, str]:
    data = {
        "organization": str(organization.pk),
        "name": "Head office",
        "base_url": ADDRESS + "/xapi/v1/",
        "client_id": "900",
        "client_secret": SECRET,
        "verify_tls": "on",
        "timeout_seconds": "30",
        "enabled": "on",
    }
    return data | overrides


class TestAdd:
    def test_it_normalises_the_address_and_encrypts_the_secret(
        self, superuser_client, organization
    ):
        response = superuser_client.post(ADD_URL, form_data(organization))
        assert response.status_code == 302
        connection = ThreeCXConnection.objects.get()
        assert connection.base_url == ADDRESS
        assert connection.client_secret_get() == SECRET
        assert SECRET not in connection.client_secret_encrypted

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"base_url": "https://127.0.0.1"}, "a loopback address"),
            ({"base_url": "https://169.254.169.254"}, "a cloud metadata service"),
            ({"base_url": "http://192.0.2.10"}, "must start with https://"),
            ({"client_secret": ""}, "This field is required."),
        ],
    )
    def test_it_refuses_what_the_dashboard_refuses(
        self, superuser_client, organization, overrides, message
    ):
        response = superuser_client.post(ADD_URL, form_data(organization, **overrides))
        assert response.status_code == 200
        assert message in response.text
        assert not ThreeCXConnection.objects.exists()

    def test_the_allowed_addresses_setting_applies(self, superuser_client, organization, settings):
        settings.THREECX_ALLOWED_ADDRESSES = ["127.0.0.1"]
        superuser_client.post(ADD_URL, form_data(organization, base_url="https://127.0.0.1:5001"))
        assert ThreeCXConnection.objects.get().base_url == "https://127.0.0.1:5001"


class TestChange:
    def test_the_secret_is_write_only(self, superuser_client, connection):
        page = superuser_client.get(change_url(connection))
        assert page.status_code == 200
        assert SECRET not in page.text
        assert connection.client_secret_encrypted not in page.text
        assert "Leave empty to keep the current secret" in page.text

    def test_an_empty_secret_keeps_the_current_one_while_the_server_stays(
        self, superuser_client, organization, connection
    ):
        response = superuser_client.post(
            change_url(connection), form_data(organization, name="Renamed", client_secret="")
        )
        assert response.status_code == 302
        connection.refresh_from_db()
        assert connection.name == "Renamed"
        assert connection.client_secret_get() == SECRET

    @pytest.mark.parametrize(
        "overrides", [{"base_url": OTHER_ADDRESS}, {"client_id": "901"}], ids=str
    )
    def test_changing_the_address_or_client_id_needs_the_secret_again(
        self, superuser_client, organization, connection, overrides
    ):
        response = superuser_client.post(
            change_url(connection), form_data(organization, client_secret="", **overrides)
        )
        assert response.status_code == 200
        assert "enter the client secret again" in response.text
        stored = ThreeCXConnection.objects.get()
        assert (stored.base_url, stored.client_id) == (ADDRESS, "900")

    def test_a_new_address_with_a_new_secret_is_saved(
        self, superuser_client, organization, connection
    ):
        superuser_client.post(
            change_url(connection),
            form_data(organization, base_url=OTHER_ADDRESS, client_secret="new-secret"),
        )
        connection.refresh_from_db()
        assert connection.base_url == OTHER_ADDRESS
        assert connection.client_secret_get() == "new-secret"

    def test_a_refused_address_is_not_saved(self, superuser_client, organization, connection):
        response = superuser_client.post(
            change_url(connection),
            form_data(organization, base_url="https://[::1]", client_secret="new-secret"),
        )
        assert "a loopback address" in response.text
        connection.refresh_from_db()
        assert connection.base_url == ADDRESS
        assert connection.client_secret_get() == SECRET
