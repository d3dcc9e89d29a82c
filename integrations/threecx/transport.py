"""The one place where HTTP requests to a 3CX server are made.

Every request gets connect/read timeouts, TLS verification as configured, the product's
User-Agent and, unless told otherwise, a bearer token from the token provider. Every failure
becomes one of `integrations.threecx.errors`, with a message a person can act on. Transient
failures (429, 503, 5xx, timeouts, resets) are retried with backoff, honouring Retry-After.

Redirects are never followed, and every TCP connection goes to an address the URL guard
checked in the same lookup (`host_addresses_checked`), so neither a redirect nor a name that
later resolves elsewhere can lead a worker to loopback or a metadata service. Error messages
describe the remote side's answers (status, content type, length) but never quote a body
other than a JSON error message.
"""

import functools
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables
from requests.exceptions import (
    ChunkedEncodingError,
    ConnectTimeout,
    ContentDecodingError,
    ReadTimeout,
    SSLError,
)
from urllib3.exceptions import NameResolutionError

from integrations.threecx import errors
from integrations.threecx.pinning import PinnedAdapter
from integrations.threecx.url_guard import AddressPolicy, host_addresses_checked

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0


class TokenProvider(Protocol):
    def token(self) -> str: ...

    def token_rejected(self, token: str) -> str:
        """The server refused `token`; return a fresh one (fetched once for all workers)."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: Never wait longer than this for one Retry-After; a longer one fails the attempt.
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


NO_RETRY = RetryPolicy(attempts=1)


@dataclass
class Response:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    data: Any


class Transport:
    def __init__(
        self,
        *,
        base_url: str,
        timeout: float,
        verify_tls: bool,
        user_agent: str,
        ca_certificates: str = "",
        address_policy: AddressPolicy = AddressPolicy(),  # noqa: B008 - immutable
        session: requests.Session | None = None,
        tokens: TokenProvider | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`ca_certificates` (PEM) replaces the default CAs for a server with a private CA."""
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = session or requests.Session()
        # The connection's settings are the only ones: from the environment, REQUESTS_CA_BUNDLE
        # would override verify=False, HTTPS_PROXY would hand name resolution to a proxy (past
        # the address guard) and ~/.netrc could add credentials.
        self.session.trust_env = False
        self.verify = verify_tls
        self.session.verify = verify_tls
        adapter = PinnedAdapter(
            resolve=functools.partial(host_addresses_checked, policy=address_policy),
            ca_certificates=ca_certificates if verify_tls else "",
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        self.tokens = tokens
        self.retry = retry
        self.sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
        idempotent: bool | None = None,
        expect: str = "json",
    ) -> Response:
        """Send one API request; `path` is relative to the base URL (e.g. "/xapi/v1/Users").

        `expect` is "json" (parse the body), "none" (204-style), "any" (JSON when there is a
        body) or "raw" (the body's bytes, unparsed: the caller decides, e.g. for the file a
        Download function answers with).
        """
        idempotent = method in ("GET", "HEAD") if idempotent is None else idempotent
        attempts = self.retry.attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._send_authenticated(
                    method,
                    path,
                    params=params,
                    json_body=json_body,
                    authenticated=authenticated,
                    expect=expect,
                )
            except errors.ThreeCXError as exc:
                if exc.permanent or attempt == attempts:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.retry.max_retry_after:
                    raise
                wait = self.retry.delay(attempt, exc.retry_after)
                logger.info(
                    "3CX %s %s failed (%s); retry %d/%d in %.1fs",
                    method,
                    path,
                    exc.title,
                    attempt,
                    attempts - 1,
                    wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable")

    @sensitive_variables("token")
    def _send_authenticated(self, method, path, *, params, json_body, authenticated, expect):
        if not authenticated or self.tokens is None:
            return self.send(method, path, params=params, json_body=json_body, expect=expect)
        token = self.tokens.token()
        try:
            return self.send(
                method, path, params=params, json_body=json_body, expect=expect, token=token
            )
        except errors.AuthenticationFailed as exc:
            if exc.status != 401:
                raise
        # 3CX keeps one token per API client: another process may have replaced ours.
        token = self.tokens.token_rejected(token)
        try:
            return self.send(
                method, path, params=params, json_body=json_body, expect=expect, token=token
            )
        except errors.AuthenticationFailed as exc:
            raise errors.AuthenticationFailed(
                "The 3CX server refused a freshly issued access token. " + errors.AUTH_HINT,
                status=exc.status,
            ) from None

    @sensitive_variables("token", "headers", "data")
    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: dict[str, str] | None = None,
        token: str | None = None,
        expect: str = "json",
    ) -> Response:
        """One HTTP exchange, no retries: the choke point every request passes through."""
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            raw = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
            body = raw.content  # read now, so a cut-off body fails here
        except requests.RequestException as exc:
            raise self.connection_error(exc) from None
        except errors.ThreeCXError as exc:
            # The address guard refused on connecting, deep inside requests, whose frames hold
            # the request (a client secret, a token): drop them from the traceback.
            raise exc.with_traceback(None) from None
        if raw.status_code >= 300:
            raise error_for_status(raw.status_code, body, raw.headers, path=path)
        if expect == "raw":
            return Response(raw.status_code, raw.headers, body)
        if expect == "none" or (expect == "any" and not body):
            return Response(raw.status_code, raw.headers, None)
        return Response(raw.status_code, raw.headers, parse_json(body, raw.headers, path=path))

    def connection_error(self, exc: requests.RequestException) -> errors.ThreeCXError:
        server = self.base_url
        if isinstance(exc, SSLError):
            return errors.ConnectionFailed(
                f"The TLS handshake with {server} failed ({_reason(exc)}). If the server uses a "
                "self-signed certificate or one from a private CA, install a trusted one, add "
                "the CA certificate to this connection, or turn off TLS verification for it."
            )
        if isinstance(exc, ConnectTimeout):
            return errors.ConnectionFailed(
                f"Timed out connecting to {server} after {self.timeout[0]:g} s. Check the address "
                "and port, and that the firewall lets this dashboard in."
            )
        if isinstance(exc, ReadTimeout):
            return errors.ConnectionFailed(
                f"{server} did not answer within {self.timeout[1]:g} s. The server may be "
                "overloaded; raise the connection's timeout if this keeps happening."
            )
        if isinstance(exc, ChunkedEncodingError | ContentDecodingError):
            return errors.BadResponse(f"The answer from {server} was cut off before its end.")
        text = _reason(exc)
        if _caused_by(exc, NameResolutionError) or "Name or service not known" in text:
            return errors.ConnectionFailed(
                f"The host name in {server} cannot be resolved. Check the server address."
            )
        if "Connection refused" in text:
            return errors.ConnectionFailed(
                f"{server} refused the connection. Check the port (self-hosted 3CX servers often "
                "use 5001) and that the server is running."
            )
        if "reset" in text.lower() or "RemoteDisconnected" in text or "aborted" in text.lower():
            return errors.ConnectionFailed(f"{server} closed the connection without answering.")
        return errors.ConnectionFailed(f"Could not reach {server}: {text}.")


def parse_json(body: bytes, headers, *, path: str) -> Any:
    declared = headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > len(body):
        raise errors.BadResponse(f"The answer to {path} was cut off before its end.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # Never quote the body: it may be anything, from anywhere (a login page, a service's
        # credentials), and the message is stored on the connection and shown to its viewers.
        raise errors.BadResponse(
            f"Expected JSON from {path} but got {body_summary(body, headers)}. "
            "Is the address that of a 3CX V20 server?"
        ) from None


def body_summary(body: bytes, headers) -> str:
    """What an answer was, without its content: "text/html (1,234 bytes)"."""
    media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    kind = media_type if _MEDIA_TYPE.fullmatch(media_type) else "no recognisable content type"
    return f"{kind} ({len(body):,} bytes)"


def error_for_status(status: int, body: bytes, headers, *, path: str) -> errors.ThreeCXError:
    message, target = _odata_error(body)
    retry_after = _retry_after(headers.get("Retry-After"))
    detail = f" The server said: {message}" if message else ""
    if status == 401:
        return errors.AuthenticationFailed(
            "The 3CX server did not accept the credentials." + detail + " " + errors.AUTH_HINT,
            status=status,
        )
    if status == 403:
        return errors.Forbidden(
            f"The API client's role may not use {path}. Give it a role with more rights in the "
            "3CX console (some data needs System Owner)." + detail,
            status=status,
        )
    if status == 400:
        where = f" (in {target})" if target else ""
        return errors.InvalidParameters(
            f"The 3CX server refused the request{where}: {message or 'invalid parameters'}",
            status=status,
            target=target,
        )
    if status == 404:
        return errors.NotFound(
            f"{path} was not found on this server. Check the server address; or this 3CX "
            "version does not have this operation." + detail,
            status=status,
        )
    if status == 429:
        return errors.RateLimited(
            "The 3CX server asked to slow down (HTTP 429).", status=status, retry_after=retry_after
        )
    if status == 503:
        return errors.Unavailable(
            "The 3CX server is temporarily unavailable (HTTP 503).",
            status=status,
            retry_after=retry_after,
        )
    if status >= 500:
        return errors.ServerError(
            f"The 3CX server failed with HTTP {status}." + detail,
            status=status,
            retry_after=retry_after,
        )
    if 300 <= status < 400:
        return errors.NotFound(
            f"The server answered {path} with a redirect (HTTP {status}) to "
            f"{_redirect_target(headers.get('Location'))}, which the dashboard does not follow. "
            "Check the server address (it must be the 3CX web address, including https:// and "
            "the port).",
            status=status,
        )
    return errors.ThreeCXError(f"Unexpected HTTP {status} from {path}.{detail}", status=status)


def _odata_error(body: bytes) -> tuple[str, str | None]:
    """The message and target of an OData error body (or an OAuth one), if any."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", None
    if not isinstance(data, dict):
        return "", None
    error = data.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        target = error.get("target")
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
        extra = "; ".join(str(d.get("message")) for d in details if d.get("message"))
        if extra and extra not in message:
            message = f"{message} ({extra})" if message else extra
        target = target or next((d.get("target") for d in details if d.get("target")), None)
        return message, str(target) if target else None
    if isinstance(error, str):
        return str(data.get("error_description") or error), None
    return "", None


def _redirect_target(location: str | None) -> str:
    """The host a redirect points at, and nothing else of the Location (it may carry secrets)."""
    try:
        host = urlsplit(location or "").hostname
    except ValueError:
        host = None
    if not location:
        return "nowhere (no Location header)"
    if not host:
        return "another path on the same server"
    return host if _HOST_NAME.fullmatch(host) else "an unreadable address"


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_HOST_NAME = re.compile(r"[a-z0-9._:-]{1,253}")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _reason(exc: BaseException) -> str:
    return str(exc.args[0] if exc.args else exc)


def _caused_by(exc: BaseException, kind: type) -> bool:
    """Whether `kind` appears anywhere in the exception's chain (urllib3 nests them deeply)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        linked = (getattr(current, "reason", None), current.__cause__, current.__context__)
        pending.extend(x for x in (*linked, *current.args) if isinstance(x, BaseException))
    return False
