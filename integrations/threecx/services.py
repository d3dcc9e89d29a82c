"""Creating, changing and checking 3CX connections."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations.threecx import errors
from integrations.threecx.certificates import ca_certificates_normalize
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.url_guard import base_url_check_address, base_url_normalize


def connection_base_url_clean(url: str) -> str:
    """Normalise a typed base URL and refuse addresses the guard forbids (UnsafeAddress)."""
    normalized = base_url_normalize(url, allow_http=settings.THREECX_ALLOW_HTTP)
    base_url_check_address(
        normalized,
        allowed=settings.THREECX_ALLOWED_ADDRESSES,
        refuse_private=settings.THREECX_REFUSE_PRIVATE,
    )
    return normalized


def connection_secret_check(
    *,
    connection: ThreeCXConnection,
    base_url: str,
    client_id: str,
    verify_tls: bool,
    ca_certificates: str,
    client_secret: str | None,
) -> None:
    """Refuse to keep the stored secret for another server or API client (InvalidInput).

    The stored secret was given for one address and one client ID, reached with one way of
    trusting its certificate; keeping it while any of them changes (or verification is
    turned off) would let whoever edits the connection send it to a server of their choosing.
    `base_url` must be normalised. Forms call this to show the error; `connection_save`
    calls it again so no other path can skip it.
    """
    if client_secret:
        return
    stored = (
        ThreeCXConnection.objects.filter(pk=connection.pk)
        .values_list(
            "base_url", "client_id", "verify_tls", "tls_ca_certificates", "client_secret_encrypted"
        )
        .first()
    )
    if stored is None or not stored[4]:
        raise errors.InvalidInput("A client secret is required.", target="client_secret")
    stored_url, stored_client_id, stored_verify, stored_ca, _ = stored
    if (stored_url, stored_client_id) != (base_url, client_id):
        raise errors.InvalidInput(
            "The server address or client ID changed, so enter the client secret again: "
            "the stored secret is only ever sent to the server and API client it was given for.",
            target="client_secret",
        )
    try:
        ca_changed = ca_certificates_normalize(ca_certificates) != stored_ca
    except errors.InvalidInput:
        return  # the certificate field reports its own error; nothing is saved
    if (stored_verify and not verify_tls) or ca_changed:
        raise errors.InvalidInput(
            "How the server's certificate is checked changed, so enter the client secret "
            "again: the stored secret is only sent to a server verified as it was before.",
            target="client_secret",
        )


@sensitive_variables("client_secret")
@transaction.atomic
def connection_save(
    *,
    connection: ThreeCXConnection,
    client_secret: str | None = None,
) -> ThreeCXConnection:
    """Save a new or edited connection; an empty `client_secret` keeps the current one.

    Editing clears a permanent error so scheduled work may call the server again.
    """
    connection.base_url = connection_base_url_clean(connection.base_url)
    connection.tls_ca_certificates = ca_certificates_normalize(connection.tls_ca_certificates)
    connection_secret_check(
        connection=connection,
        base_url=connection.base_url,
        client_id=connection.client_id,
        verify_tls=connection.verify_tls,
        ca_certificates=connection.tls_ca_certificates,
        client_secret=client_secret,
    )
    if client_secret:
        connection.client_secret_set(client_secret)
    connection.last_error_permanent = False
    connection.save()
    return connection


@dataclass
class CheckResult:
    ok: bool
    version: str = ""
    status: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    error_title: str = ""
    permanent: bool = False


def connection_check(
    *, connection: ThreeCXConnection, client: ThreeCXClient | None = None
) -> CheckResult:
    """Get a token, the version and the system status; record the outcome on the connection."""
    try:
        client = client or ThreeCXClient.for_connection(connection)
        version = client.version()
        status = client.system_status()
    except errors.ThreeCXError as exc:
        connection_record_error(connection=connection, error=exc)
        return CheckResult(
            ok=False, error=exc.message, error_title=exc.title, permanent=exc.permanent
        )
    now = timezone.now()
    ThreeCXConnection.objects.filter(pk=connection.pk).update(
        version=version,
        last_checked_at=now,
        last_error="",
        last_error_at=None,
        last_error_permanent=False,
    )
    connection.version, connection.last_checked_at = version, now
    connection.last_error, connection.last_error_at, connection.last_error_permanent = (
        "",
        None,
        False,
    )
    return CheckResult(ok=True, version=version, status=status)


def connection_record_error(*, connection: ThreeCXConnection, error: errors.ThreeCXError) -> None:
    now = timezone.now()
    message = f"{error.title}: {error.message}"
    ThreeCXConnection.objects.filter(pk=connection.pk).update(
        last_error=message,
        last_error_at=now,
        last_checked_at=now,
        last_error_permanent=error.permanent,
    )
    connection.last_error, connection.last_error_at = message, now
    connection.last_error_permanent = error.permanent
