"""A client for the 3CX V20 Configuration API (XAPI), one instance per connection.

    client = ThreeCXClient.for_connection(connection)
    for user in client.collection("Users"):          # paged, secrets never requested
        ...
    client.version()                                  # "20.0.10.870"
    client.get_directory_info('{"Filesystem": "Local", "Path": "/"}')

Everything goes through `Transport` (timeouts, error mapping, retries) and
`SharedTokenProvider` (one token per API client across all workers).
"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integrations.threecx import errors, spec
from integrations.threecx.auth import SharedTokenProvider
from integrations.threecx.directory_info import directory_parameters_parse
from integrations.threecx.odata import PagedCollection, Query, key_segment, literal
from integrations.threecx.operations.requests import PreparedRequest
from integrations.threecx.transport import RetryPolicy, Transport, parse_json
from integrations.threecx.url_guard import (
    AddressPolicy,
    base_url_check_address,
    base_url_normalize,
)

API = "/xapi/v1"
_UNKNOWN_PROPERTY = re.compile(r"[Cc]ould not find a property named '([^']+)'")
#: The answer headers worth showing with an operation's answer; the others (dates, servers,
#: cookies, caching) say nothing about the operation and some could identify a session.
ANSWER_HEADERS = (
    "Content-Type",
    "Content-Length",
    "X-3CX-Version",
    "Retry-After",
    "Location",
    "OData-Version",
)


@dataclass(frozen=True)
class OperationAnswer:
    """What a server answered to one operation (see `ThreeCXClient.operation_call`)."""

    status: int
    elapsed_ms: int
    headers: dict[str, str]  # ANSWER_HEADERS present in the answer
    data: Any  # parsed JSON; None for an empty or non-JSON body
    content_type: str  # the media type, e.g. "application/json" ("" when not said)
    size: int  # bytes of the body


class ThreeCXClient:
    @sensitive_variables("client_secret")
    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        verify_tls: bool = True,
        ca_certificates: str = "",
        timeout: float = 30,
        page_size: int | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - immutable
        check_address: bool = True,
        on_token_request: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url_normalize(base_url, allow_http=settings.THREECX_ALLOW_HTTP)
        policy = AddressPolicy.from_settings()
        if check_address:
            # Refuse early, with no request made; the transport checks again on connecting.
            base_url_check_address(
                self.base_url, allowed=policy.allowed, refuse_private=policy.refuse_private
            )
        self.page_size = page_size or settings.THREECX_PAGE_SIZE
        self.transport = Transport(
            base_url=self.base_url,
            timeout=timeout,
            verify_tls=verify_tls,
            ca_certificates=ca_certificates,
            address_policy=policy,
            user_agent=settings.THREECX_USER_AGENT,
            retry=retry,
        )
        self.tokens = SharedTokenProvider(
            transport=self.transport,
            client_id=client_id,
            client_secret=client_secret,
            on_token_request=on_token_request,
        )
        self.transport.tokens = self.tokens

    def __repr__(self) -> str:
        return f"<ThreeCXClient {self.base_url}>"

    @classmethod
    @sensitive_variables()
    def for_connection(cls, connection, **kwargs) -> "ThreeCXClient":
        return cls(
            base_url=connection.base_url,
            client_id=connection.client_id,
            client_secret=connection.client_secret_get(),
            verify_tls=connection.verify_tls,
            ca_certificates=connection.tls_ca_certificates,
            timeout=connection.timeout_seconds,
            **kwargs,
        )

    # --- generic access: any XAPI operation -------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.transport.request("GET", _api_path(path), params=params).data

    def post(self, path: str, body: Any = None, *, idempotent: bool = False) -> Any:
        return self.transport.request(
            "POST", _api_path(path), json_body=body, idempotent=idempotent, expect="any"
        ).data

    def call_function(self, path: str, **arguments: Any) -> Any:
        """An OData function: `GET /Users/Pbx.ExportExtensions()` or `...F(a=1,b='x')`."""
        args = ",".join(f"{name}={literal(value)}" for name, value in arguments.items())
        return self.get(f"{path}({args})")

    def call_action(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """An OData action or action import: `POST /Users/Pbx.BatchDelete` with a JSON body."""
        return self.post(path, body or {})

    def operation_call(self, request: PreparedRequest) -> OperationAnswer:
        """Send a request prepared (and validated) by `request_prepare`, as it is.

        Reads may be retried like every read; writes are sent once, as a retried write could
        happen twice. A non-JSON answer (a Download... function's file) comes back as
        data None with its content type and size. Failures raise errors.ThreeCXError, as
        every call does, with `elapsed_ms` set on the exception.
        """
        started = time.monotonic()
        try:
            response = self.transport.request(
                request.method,
                request.api_path,
                params=request.query or None,
                json_body=request.body,
                idempotent=request.is_read,
                expect="raw",
            )
        except errors.ThreeCXError as exc:
            exc.elapsed_ms = _elapsed_ms(started)
            raise
        elapsed_ms = _elapsed_ms(started)
        body: bytes = response.data or b""
        content_type = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        return OperationAnswer(
            status=response.status,
            elapsed_ms=elapsed_ms,
            headers={
                name: response.headers[name] for name in ANSWER_HEADERS if name in response.headers
            },
            data=_answer_data(body, response.headers, content_type, path=request.api_path),
            content_type=content_type.lower(),
            size=len(body),
        )

    # --- collections and entities --------------------------------------------------------------

    def collection(
        self,
        entity_set: str,
        *,
        select: tuple[str, ...] | list[str] | None = None,
        filter: str | None = None,
        orderby: str | None = "Id",
        expand: tuple[str, ...] | list[str] = (),
        search: str | None = None,
        page_size: int | None = None,
        on_page: Callable[[PagedCollection, list], None] | None = None,
    ) -> PagedCollection:
        """A collection read page by page. Ordered by Id by default so paging is stable.

        Pages shorter than `page_size` (servers that cap them) do not end it; see
        `PagedCollection` for when it ends and what `total` holds.

        Without `select`, every property the spec knows except secrets and navigation
        properties is asked for; asking for a secret field is refused.
        """
        query = Query(
            select=self._safe_select(entity_set, select),
            filter=filter,
            orderby=orderby,
            expand=tuple(expand),
            search=search,
        )
        return PagedCollection(
            fetch_page=self._get_tolerating_unknown_properties,
            path=f"{API}/{entity_set}",
            query=query,
            page_size=page_size or self.page_size,
            on_page=on_page,
        )

    def entity(
        self,
        entity_set: str,
        key: int | str,
        *,
        select: tuple[str, ...] | list[str] | None = None,
        expand: tuple[str, ...] | list[str] = (),
    ) -> dict[str, Any]:
        """One entity by Id (`5`) or by extension number (`"101"`)."""
        params = Query(select=self._safe_select(entity_set, select), expand=tuple(expand)).params()
        data = self._get_tolerating_unknown_properties(
            f"{API}/{entity_set}{key_segment(key)}", params
        )
        if not isinstance(data, dict):
            raise errors.BadResponse(f"Expected one object from {entity_set}.", permanent=True)
        return data

    # --- what the dashboard asks for ------------------------------------------------------------

    def version(self) -> str:
        """The server's version from the `X-3CX-Version` header (also a cheap auth check)."""
        response = self.transport.request("GET", f"{API}/Defs", params={"$select": "Id"})
        version = response.headers.get("X-3CX-Version", "").strip()
        if not version:
            raise errors.BadResponse(
                "The server did not say its version (no X-3CX-Version header): is it 3CX V20?",
                permanent=True,
            )
        return version

    def system_status(self) -> dict[str, Any]:
        data = self.get("/SystemStatus")
        if not isinstance(data, dict):
            raise errors.BadResponse("Expected an object from SystemStatus.", permanent=True)
        return data

    def single(self, path: str) -> dict[str, Any]:
        """One object: a singleton (`LicenseStatus`) or a function's answer
        (`Backups/Pbx.GetBackupSettings()`)."""
        data = self.get(path)
        if not isinstance(data, dict):
            name = path.split("(", 1)[0]
            raise errors.BadResponse(f"Expected an object from {name}.", permanent=True)
        return data

    def get_directory_info(self, parameters: str | dict[str, Any]) -> dict[str, Any]:
        """Get Directory Info: list the folders of a storage location.

        `parameters` is the JSON the user typed (or a dict): the whole body
        `{"parameters": {...}}` or only the inner object, which is wrapped.
        """
        body = directory_parameters_parse(parameters)
        data = self.transport.request(
            "POST", f"{API}/GetDirectoryInfo", json_body=body, idempotent=True
        ).data
        if not isinstance(data, dict) or not isinstance(data.get("Dirs", []), list):
            raise errors.BadResponse(
                'Expected {"Path": ..., "Dirs": [...]} from GetDirectoryInfo.', permanent=True
            )
        return data

    # --- internals -------------------------------------------------------------------------------

    def _safe_select(self, entity_set: str, select) -> tuple[str, ...]:
        schema_name = spec.entity_schema_name(entity_set.split("(", 1)[0].split("/", 1)[0])
        if schema_name is None:
            return tuple(select or ())
        secrets = spec.secret_fields(schema_name)
        if select is None:
            return spec.safe_select(schema_name) if secrets else ()
        asked = sorted(set(select) & secrets)
        if asked:
            raise errors.InvalidInput(
                f"{', '.join(asked)} {'is a secret' if len(asked) == 1 else 'are secrets'} "
                "and is never requested from the PBX."
            )
        return tuple(select)

    def _get_tolerating_unknown_properties(self, path: str, params: dict[str, str]) -> Any:
        """GET, dropping $select fields this server version does not know (they vary by update)."""
        params = dict(params)
        for _ in range(20):
            try:
                return self.transport.request("GET", path, params=params).data
            except errors.InvalidParameters as exc:
                missing = _UNKNOWN_PROPERTY.search(exc.message)
                selected = params.get("$select", "").split(",")
                if not missing or missing.group(1) not in selected:
                    raise
                selected.remove(missing.group(1))
                params["$select"] = ",".join(selected)
        raise errors.BadResponse(f"The server kept refusing the fields asked of {path}.")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _answer_data(body: bytes, headers, content_type: str, *, path: str) -> Any:
    """The JSON of an answer: parsed (and checked whole) when it says it is JSON; a body
    without a content type, or with text/plain, when it parses; None for anything else
    (a CSV, a ZIP, a recording)."""
    if not body:
        return None
    media_type = content_type.lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return parse_json(body, headers, path=path)
    if media_type and not media_type.startswith("text/plain"):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _api_path(path: str) -> str:
    if path.startswith(API):
        return path
    return f"{API}/{path.lstrip('/')}"
