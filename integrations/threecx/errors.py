"""Every way talking to a 3CX server can fail, as the project's own exceptions.

Each error carries a message a person can act on and says whether retrying can help
(`permanent`). Messages never contain secrets or tokens.
"""


class ThreeCXError(Exception):
    permanent: bool = True
    #: Short label for the UI and logs ("Authentication failed", ...).
    title: str = "3CX request failed"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.target = target

    def __str__(self) -> str:
        return self.message


class AuthenticationFailed(ThreeCXError):
    title = "Authentication failed"


class Forbidden(ThreeCXError):
    title = "Not allowed"


class InvalidParameters(ThreeCXError):
    title = "Invalid parameters"


class NotFound(ThreeCXError):
    title = "Not found"


class RateLimited(ThreeCXError):
    permanent = False
    title = "Rate limited"


class Unavailable(ThreeCXError):
    permanent = False
    title = "Server unavailable"


class ServerError(ThreeCXError):
    permanent = False
    title = "3CX server error"


class ConnectionFailed(ThreeCXError):
    permanent = False
    title = "Connection failed"


class BadResponse(ThreeCXError):
    """The answer was not what the API promises: not JSON, cut off, or the wrong shape."""

    title = "Unexpected answer"

    def __init__(self, message: str, *, permanent: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.permanent = permanent


class RowsMissing(BadResponse):
    """A collection ended (an empty page) before the rows its `@odata.count` announced.

    Transient: the usual cause is data that changed while it was read page by page (a row
    removed shifts every later `$skip`), which reading again fixes; a server that keeps
    dropping rows keeps failing, and every failure says so.
    """

    title = "Rows missing"


class InvalidInput(ThreeCXError):
    """Refused before any request: what the user typed cannot be sent as it is."""

    title = "Invalid input"


class UnsafeAddress(ThreeCXError):
    """The base URL points somewhere the dashboard must not call (loopback, metadata...)."""

    title = "Address not allowed"


AUTH_HINT = (
    "Check the client ID and secret (Integrations > API in the 3CX console); the API client "
    "may have been disabled or its secret regenerated; the Configuration API needs an "
    "Enterprise licence."
)
