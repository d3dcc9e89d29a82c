"""CA certificates a connection trusts instead of the public ones (a private CA's, say).

Self-hosted 3CX servers often carry a certificate from the company's own CA. The admin pastes
or uploads that CA's certificate; it is checked here, strictly, so a mistake (a private key,
a certificate request, a damaged paste, an expired CA) is named when saving, not discovered
as a failed TLS handshake in the middle of a sync.
"""

import datetime
import re
import ssl

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.exceptions import ValidationError

from integrations.threecx import errors

#: A whole system bundle is ~200 KB; a private CA chain is a few KB.
MAX_LENGTH = 64 * 1024

_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----", re.DOTALL
)
_BEGIN = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----")


def ca_certificates_normalize(text: str) -> str:
    """The certificates in `text` as clean PEM ("" for none); InvalidInput says what is wrong."""
    if not (text or "").strip():
        return ""
    certificates = ca_certificates_parse(text)
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


def ca_certificates_parse(text: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text, refusing anything that is not a usable certificate."""
    if len(text) > MAX_LENGTH:
        raise _invalid(
            f"The CA certificates are longer than {MAX_LENGTH // 1024} KB: paste only the "
            "certificate of the CA that signed the 3CX server's certificate, not a whole bundle."
        )
    labels = [match.group("label") for match in _BEGIN.finditer(text)]
    if not labels:
        raise _invalid(
            "This is not a PEM certificate: it must start with -----BEGIN CERTIFICATE----- "
            "(open the .crt or .pem file in a text editor and paste all of it)."
        )
    if any("PRIVATE KEY" in label for label in labels):
        raise _invalid(
            "This contains a private key. Paste only the CA's certificate (-----BEGIN "
            "CERTIFICATE-----); a private key must never leave its server."
        )
    other = sorted({label for label in labels if label != "CERTIFICATE"})
    if other:
        raise _invalid(
            f"This contains a {other[0]} block; only CERTIFICATE blocks are accepted here."
        )
    blocks = list(_BLOCK.finditer(text))
    if len(blocks) < len(labels):
        raise _invalid(
            "A certificate is cut off: each -----BEGIN CERTIFICATE----- needs its "
            "-----END CERTIFICATE----- line."
        )
    certificates = [
        _certificate_load(block.group(), position) for position, block in enumerate(blocks, start=1)
    ]
    _ssl_check(certificates)
    return certificates


def ca_certificates_from_upload(data: bytes) -> str:
    """The PEM text of an uploaded .pem, .crt or .cer file (PEM or binary DER)."""
    if len(data) > MAX_LENGTH:
        raise _invalid(
            f"The file is larger than {MAX_LENGTH // 1024} KB; upload the CA certificate only."
        )
    if b"-----BEGIN" in data:
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise _invalid("The file holds characters a PEM certificate never has.") from None
    try:
        certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        raise _invalid(
            "The file is neither a PEM nor a DER certificate. Upload the CA's certificate "
            "(.pem, .crt or .cer)."
        ) from None
    return certificate.public_bytes(Encoding.PEM).decode("ascii")


def ca_certificates_validate(value: str) -> None:
    """Model field validator: the Django admin and every ModelForm apply the same rules."""
    if not (value or "").strip():
        return
    try:
        ca_certificates_parse(value)
    except errors.InvalidInput as exc:
        raise ValidationError(exc.message, code="invalid_ca_certificates") from None


def _certificate_load(pem: str, position: int) -> x509.Certificate:
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _invalid(
            f"Certificate {position} cannot be read: the text between its BEGIN and END lines "
            "is damaged. Paste it again from the file."
        ) from None
    now = datetime.datetime.now(datetime.UTC)
    expires = certificate.not_valid_after_utc
    if expires < now:
        raise _invalid(
            f"Certificate {position} ({_subject(certificate)}) expired on {expires:%Y-%m-%d}; "
            "servers it signed cannot be trusted. Use the CA's current certificate."
        )
    return certificate


def _ssl_check(certificates: list[x509.Certificate]) -> None:
    """OpenSSL, which will use them, must accept them too."""
    pem = "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)
    try:
        ssl.create_default_context(cadata=pem)
    except ssl.SSLError as exc:
        raise _invalid(f"OpenSSL cannot use these certificates ({exc.reason}).") from None


def _subject(certificate: x509.Certificate) -> str:
    try:
        return certificate.subject.rfc4514_string()[:200] or "no subject"
    except ValueError:
        return "an unreadable subject"


def _invalid(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(message, target="tls_ca_certificates")
