"""OAuth2 client-credentials tokens as 3CX issues them: one active token per client."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable


class TokenIssuer:
    """Issues, checks and revokes bearer tokens against a (simulated) clock."""

    def __init__(self, lifetime: int, clock: Callable[[], float]) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}  # token -> expiry time
        self._active: dict[str, str] = {}  # client id -> its one valid token

    def issue(self, client_id: str) -> str:
        """A new token for `client_id`; the client's previous token stops working."""
        now = self._clock()
        token = _jwt_like(client_id, now, now + self.lifetime)
        with self._lock:
            previous = self._active.get(client_id)
            if previous is not None:
                self._expiry.pop(previous, None)
            self._active[client_id] = token
            self._expiry[token] = now + self.lifetime
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._active.clear()

    def active_count(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expiry in self._expiry.values() if now < expiry)


def _jwt_like(client_id: str, issued: float, expires: float) -> str:
    """Shaped like the JWT 3CX hands out, but opaque: nothing should decode it."""

    def part(data: dict) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    claims = part({"sub": client_id, "iat": int(issued), "exp": int(expires)})
    return f"{header}.{claims}.{secrets.token_urlsafe(32)}"
