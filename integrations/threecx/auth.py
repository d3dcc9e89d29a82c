"""OAuth2 client-credentials tokens for 3CX, shared by every process.

3CX keeps one active token per API client: fetching a new one revokes the old. So tokens live
in the shared cache (Redis in production), encrypted, and are fetched under a cache lock: any
number of workers cause one token request per expiry, and one per revocation.
"""

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables
from oauthlib.common import urldecode
from oauthlib.oauth2 import BackendApplicationClient, MissingTokenError, OAuth2Error

from integrations.threecx import crypto, errors
from integrations.threecx.transport import Transport

logger = logging.getLogger(__name__)

TOKEN_PATH = "/connect/token"  # noqa: S105 - a URL path, not a secret
#: Refresh this long before the server's expiry, so no request carries a dying token.
EXPIRY_MARGIN = 60.0
LOCK_TIMEOUT = 60.0
#: 3CX tokens live 60 minutes; `expires_in` said 60 (minutes) before V20 Update 9 and says 3600
#: (seconds) from Update 9 on. Up to this many, the number counts minutes.
MINUTES_UP_TO = 120


def token_lifetime_seconds(expires_in: float) -> float:
    """`expires_in` in seconds, whichever unit the server that answered used.

    The unit is read from the answer itself, never from a version stored earlier: a server
    upgraded since (20.0.8 to 20.0.10) would otherwise have its 3600 seconds read as 60 hours.
    A value of 120 or less in seconds would be a token of at most two minutes, which 3CX
    never issues (and which the refresh margin would use up): such small values are minutes.
    """
    return expires_in * 60 if expires_in <= MINUTES_UP_TO else expires_in


@dataclass
class CachedToken:
    access_token: str
    expires_at: float

    def fresh(self) -> bool:
        return time.time() < self.expires_at - EXPIRY_MARGIN


class SharedTokenProvider:
    """Tokens for one connection (base URL + client ID + secret), cached for all processes."""

    @sensitive_variables("client_secret", "fingerprint")
    def __init__(
        self,
        *,
        transport: Transport,
        client_id: str,
        client_secret: str,
        on_token_request: Callable[[], None] | None = None,
    ) -> None:
        self.transport = transport
        self.client_id = client_id
        self._client_secret = client_secret
        self.on_token_request = on_token_request
        # The key changes with the credentials, so an edited connection never reuses a token.
        fingerprint = hashlib.sha256(
            f"{transport.base_url}\0{client_id}\0{client_secret}".encode()
        ).hexdigest()[:32]
        self.cache_key = f"threecx:token:{fingerprint}"
        self.lock_key = f"{self.cache_key}:lock"

    def __repr__(self) -> str:
        return f"<SharedTokenProvider {self.transport.base_url} client {self.client_id}>"

    def token(self) -> str:
        cached = self._cached()
        if cached is not None and cached.fresh():
            return cached.access_token
        return self._refresh(unless_not=None)

    def token_rejected(self, token: str) -> str:
        return self._refresh(unless_not=token)

    def forget(self) -> None:
        cache.delete(self.cache_key)

    # --- internals ------------------------------------------------------------------------

    def _refresh(self, *, unless_not: str | None) -> str:
        """Fetch a token under the lock, unless another process already replaced it.

        `unless_not` is the token the server just refused (None: we only found none fresh).
        """
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_TIMEOUT
        while not cache.add(self.lock_key, owner, timeout=LOCK_TIMEOUT):
            cached = self._cached()
            if cached is not None and cached.fresh() and cached.access_token != unless_not:
                return cached.access_token
            if time.monotonic() > deadline:
                raise errors.Unavailable(
                    "Timed out waiting for another worker to obtain a 3CX access token."
                )
            time.sleep(0.05)
        try:
            cached = self._cached()
            if cached is not None and cached.fresh() and cached.access_token != unless_not:
                return cached.access_token
            fetched = self._fetch()
            cache.set(
                self.cache_key,
                {"token": crypto.encrypt(fetched.access_token), "expires_at": fetched.expires_at},
                timeout=max(1, int(fetched.expires_at - time.time())),
            )
            return fetched.access_token
        finally:
            if cache.get(self.lock_key) == owner:
                cache.delete(self.lock_key)

    def _cached(self) -> CachedToken | None:
        entry = cache.get(self.cache_key)
        if not isinstance(entry, dict):
            return None
        try:
            return CachedToken(crypto.decrypt(entry["token"]), float(entry["expires_at"]))
        except (KeyError, TypeError, ValueError, crypto.SecretUnreadable):
            return None

    @sensitive_variables("form", "answer", "token")
    def _fetch(self) -> CachedToken:
        """One client-credentials exchange, through the transport like every other request.

        oauthlib builds the form and reads the answer; the transport sends it, so the token
        request, too, follows no redirect and connects only to checked addresses.
        """
        if self.on_token_request is not None:
            self.on_token_request()
        client = BackendApplicationClient(client_id=self.client_id)
        form = dict(
            urldecode(
                client.prepare_request_body(
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    include_client_id=True,
                )
            )
        )
        started = time.time()
        try:
            answer = self.transport.send("POST", TOKEN_PATH, data=form).data
        except errors.ThreeCXError as exc:
            if exc.status in (400, 401):
                raise errors.AuthenticationFailed(
                    "The 3CX server did not accept the client ID and secret. " + errors.AUTH_HINT,
                    status=exc.status,
                ) from None
            raise
        token = _token_parse(client, answer, base_url=self.transport.base_url)
        lifetime = token_lifetime_seconds(token["expires_in"])
        logger.info("Obtained a 3CX access token for %s (valid %.0f s)", self, lifetime)
        return CachedToken(token["access_token"], started + lifetime)


@sensitive_variables("answer", "token")
def _token_parse(client: BackendApplicationClient, answer, *, base_url: str) -> dict:
    """The token answer, checked by oauthlib (error fields, token type) and for its lifetime."""
    if not isinstance(answer, dict):
        raise errors.BadResponse(f"The token answer from {base_url} is not a JSON object.")
    expires_in = answer.get("expires_in")
    valid_lifetime = isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
    # An OAuth error answer has no lifetime: oauthlib turns it into its error below.
    if "error" not in answer and not (valid_lifetime and expires_in > 0):
        raise errors.BadResponse("The token answer has no valid expires_in.")
    try:
        token = client.parse_request_body_response(json.dumps(answer))
    except MissingTokenError:
        raise errors.BadResponse("The token answer has no access_token.") from None
    except OAuth2Error as exc:
        raise errors.AuthenticationFailed(
            f"The 3CX server refused the credentials ({exc.error}). {errors.AUTH_HINT}",
            status=exc.status_code,
        ) from None
    except (ValueError, Warning):  # oauthlib's complaints about the token's shape
        raise errors.BadResponse(f"The token answer from {base_url} was not understood.") from None
    if not token.get("access_token") or not isinstance(token["access_token"], str):
        raise errors.BadResponse("The token answer has no access_token.")
    return token
