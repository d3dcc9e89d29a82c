"""CA certificates pasted or uploaded for a connection: what is accepted, and what is said."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.threecx import errors
from integrations.threecx.certificates import (
    ca_certificates_from_upload,
    ca_certificates_normalize,
    ca_certificates_validate,
)
from tests.factories import UserFactory
from tests.integrations.threecx.tls import certificate_authority

AUTHORITY = certificate_authority("Acme Root CA")
INTERMEDIATE = certificate_authority("Acme Issuing CA")


def _request_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pbx.example.com")])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(Encoding.PEM).decode()


def _damaged(pem: str) -> str:
    lines = pem.splitlines()
    lines[3] = lines[3][:10] + "!!!!" + lines[3][14:]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not a PEM certificate: it must start with -----BEGIN CERTIFICATE-----"),
        (AUTHORITY.key_pem, "contains a private key"),
        (AUTHORITY.pem + AUTHORITY.key_pem, "contains a private key"),
        (_request_pem(), "contains a CERTIFICATE REQUEST block"),
        (AUTHORITY.pem.split("-----END")[0], "cut off"),
        (_damaged(AUTHORITY.pem), "Certificate 1 cannot be read"),
        (AUTHORITY.pem + _damaged(INTERMEDIATE.pem), "Certificate 2 cannot be read"),
        (certificate_authority("Old CA", expired=True).pem, r"\(CN=Old CA\) expired on"),
        ("x" * 70_000, "longer than 64 KB"),
    ],
)
def test_it_names_what_is_wrong_with_the_certificates(text, message):
    with pytest.raises(errors.InvalidInput, match=message) as caught:
        ca_certificates_normalize(text)
    assert caught.value.target == "tls_ca_certificates"
    assert "PRIVATE KEY-----\n" not in caught.value.message
    with pytest.raises(ValidationError, match=message):
        ca_certificates_validate(text)


def test_one_or_more_certificates_are_kept_as_clean_pem():
    pasted = f"Acme Root CA\n{AUTHORITY.pem}\nsubject=Acme Issuing CA\n{INTERMEDIATE.pem}"
    assert ca_certificates_normalize(pasted) == AUTHORITY.pem + INTERMEDIATE.pem
    ca_certificates_validate(pasted)


def test_an_empty_field_means_the_public_cas():
    assert ca_certificates_normalize("  \n") == ""
    ca_certificates_validate("")


def test_uploads_may_be_pem_or_der():
    der = AUTHORITY.certificate.public_bytes(Encoding.DER)
    assert ca_certificates_from_upload(der) == AUTHORITY.pem
    assert ca_certificates_from_upload(AUTHORITY.pem.encode()) == AUTHORITY.pem


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01binary junk", "neither a PEM nor a DER certificate"),
        (b"-----BEGIN CERTIFICATE-----\n\xff\xfe", "characters a PEM certificate never has"),
        (b"x" * 70_000, "larger than 64 KB"),
    ],
)
def test_an_upload_that_is_no_certificate_is_refused(data, message):
    with pytest.raises(errors.InvalidInput, match=message):
        ca_certificates_from_upload(data)


@pytest.mark.django_db
def test_the_django_admin_applies_the_same_rules(client, organization, settings):
    settings.THREECX_ALLOWED_ADDRESSES = []
    client.force_login(UserFactory(is_staff=True, is_superuser=True, mfa=True))
    data = {
        "organization": str(organization.pk),
        "name": "Head office",
        "base_url": "https://192.0.2.10:5001",
        "client_id": "900",
        "client_secret": "s3cret-api-key",
        "timeout_seconds": "30",
        "tls_ca_certificates": AUTHORITY.key_pem,
    }
    page = client.post(reverse("admin:threecx_threecxconnection_add"), data)
    assert "This contains a private key" in page.text
    client.post(
        reverse("admin:threecx_threecxconnection_add"),
        data | {"tls_ca_certificates": f"Root:\n{AUTHORITY.pem}"},
    )
    assert organization.threecx_connections.get().tls_ca_certificates == AUTHORITY.pem
