"""The connection form's CA certificate: pasted or uploaded, checked, saved as clean PEM."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.threecx.models import ThreeCXConnection
from tests.integrations.threecx.clients import CLIENT_SECRET
from tests.integrations.threecx.tls import certificate_authority

pytestmark = pytest.mark.django_db

AUTHORITY = certificate_authority("Acme Root CA")


def form_data(server_url: str, **overrides) -> dict:
    data = {
        "name": "Head office",
        "base_url": server_url,
        "client_id": "900",
        "client_secret": CLIENT_SECRET,
        "sync_interval": "off",
        "verify_tls": "on",
        "timeout_seconds": "30",
        "enabled": "on",
    }
    return data | overrides


def test_the_form_offers_pasting_and_uploading_a_ca_certificate(client_for, organization, admin):
    page = client_for(admin).get(reverse("connection_create", args=[organization.pk]))
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="tls_ca_certificates"' in page.text
    assert 'name="tls_ca_certificates_file"' in page.text


def test_a_pasted_ca_certificate_is_saved_as_clean_pem(client_for, organization, admin, simulator):
    pasted = f"Our root CA:\r\n{AUTHORITY.pem}".replace("\n", "\r\n")
    client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, tls_ca_certificates=pasted),
    )
    assert ThreeCXConnection.objects.get().tls_ca_certificates == AUTHORITY.pem


def test_an_uploaded_ca_certificate_replaces_the_text(client_for, organization, admin, simulator):
    upload = SimpleUploadedFile("root.crt", AUTHORITY.pem.encode())
    client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, tls_ca_certificates="", tls_ca_certificates_file=upload),
    )
    assert ThreeCXConnection.objects.get().tls_ca_certificates == AUTHORITY.pem


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tls_ca_certificates", "not a certificate", "This is not a PEM certificate"),
        ("tls_ca_certificates", AUTHORITY.key_pem, "This contains a private key"),
        (
            "tls_ca_certificates_file",
            SimpleUploadedFile("root.crt", b"\x00junk"),
            "neither a PEM nor a DER certificate",
        ),
    ],
)
def test_a_wrong_ca_certificate_is_named_and_nothing_is_saved(
    client_for, organization, admin, simulator, field, value, message
):
    page = client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, **{field: value}),
    )
    assert page.status_code == 200
    assert message in page.text
    assert not ThreeCXConnection.objects.exists()


def test_a_pasted_private_key_is_refused_and_never_shown_back(
    client_for, organization, admin, simulator
):
    page = client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, tls_ca_certificates=AUTHORITY.key_pem),
    )
    assert "This contains a private key" in page.text
    assert "PRIVATE KEY-----" not in page.text
    assert not ThreeCXConnection.objects.exists()


def test_the_form_offers_every_country_by_name_with_the_us_chosen(client_for, organization, admin):
    page = client_for(admin).get(reverse("connection_create", args=[organization.pk])).text
    assert "Default country for phone numbers" in page
    assert '<option value="US" selected>United States (US)</option>' in page
    assert '<option value="GB">United Kingdom (GB)</option>' in page
    assert '<option value="XK">Kosovo (XK)</option>' in page


def test_the_chosen_country_is_saved(client_for, organization, admin, simulator):
    client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, phone_region="GB"),
    )
    assert ThreeCXConnection.objects.get().phone_region == "GB"


def test_no_country_given_is_the_us_for_a_new_connection_and_unchanged_for_an_old_one(
    client_for, organization, admin, simulator
):
    client_for(admin).post(
        reverse("connection_create", args=[organization.pk]), form_data(simulator.base_url)
    )
    connection = ThreeCXConnection.objects.get()
    assert connection.phone_region == "US"
    ThreeCXConnection.objects.filter(pk=connection.pk).update(phone_region="DE")
    client_for(admin).post(
        reverse("connection_edit", args=[organization.pk, connection.pk]),
        form_data(simulator.base_url, client_secret="", name="Renamed"),
    )
    connection.refresh_from_db()
    assert (connection.name, connection.phone_region) == ("Renamed", "DE")


@pytest.mark.parametrize("value", ["ZZ", "gb", "USA", "001"])
def test_a_country_that_is_not_offered_is_refused(
    client_for, organization, admin, simulator, value
):
    page = client_for(admin).post(
        reverse("connection_create", args=[organization.pk]),
        form_data(simulator.base_url, phone_region=value),
    )
    assert page.status_code == 200
    assert "is not a country phone numbers can be read for" in page.text
    assert not ThreeCXConnection.objects.exists()
