"""Certificates made on the spot, and the simulator served over https with one of them."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integrations.threecx.simulator import Simulator, SimulatorServer
from tests.integrations.threecx.conftest import SMALL


@dataclass
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def certificate_authority(name: str = "Test Private CA", *, expired: bool = False) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = _builder(subject, subject, key, expired=expired).add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True
    )
    return Issued(builder.sign(key, hashes.SHA256()), key)


def server_certificate(names: list[str], *, issuer: Issued | None = None) -> Issued:
    """A certificate for `names` (host names or IP addresses), self-signed unless `issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    issuer_name = issuer.certificate.subject if issuer else subject
    alternatives = [_alternative_name(name) for name in names]
    builder = _builder(subject, issuer_name, key).add_extension(
        x509.SubjectAlternativeName(alternatives), critical=False
    )
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


@contextmanager
def https_simulator(served: Issued, tmp_path: Path) -> Iterator[SimulatorServer]:
    """The small simulator on a free loopback port, over https with `served`'s certificate."""
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_text(served.pem)
    key_file.write_text(served.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with SimulatorServer(Simulator(SMALL), ssl_context=context) as server:
        yield server


def _builder(subject, issuer, key, *, expired: bool = False) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _alternative_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
