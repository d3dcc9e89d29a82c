"""Creating, changing and checking 3CX connections."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations.threecx import errors
from integrations.threecx.client import ThreeCXClient
from integrations.threecx.models import ThreeCXConnection
from integrations.threecx.url_guard import base_url_check_address, base_url_normalize


def connection_base_url_clean(url: str) -> str:
    """Normalise a typed base URL and refuse addresses the guard forbids (UnsafeAddress)."""
    normalized = base_url_normalize(url, allow_http=settings.THREECX_ALLOW_HTTP)
    base_url_check_address(normalized, allowed=settings.THREECX_ALLOWED_ADDRESSES)
    return normalized


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
    if client_secret:
        connection.client_secret_set(client_secret)
    if not connection.has_client_secret:
        raise errors.InvalidInput("A client secret is required.", target="client_secret")
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
