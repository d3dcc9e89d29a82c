"""Connections to the addresses the URL guard checked, and to nothing else.

urllib3 resolves a host name again on every new connection, and a name may answer
differently each time (DNS rebinding): a name checked as public could then reach loopback or
a metadata service. `PinnedAdapter` resolves once per connection attempt through the guard and
connects to exactly those addresses. The name stays the connection's host, so the Host
header, SNI and certificate hostname verification all use it.
"""

import socket
from collections.abc import Callable
from typing import Any

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from integrations.threecx.url_guard import AddressInfo

#: Resolves (host, port) to the addresses that may be connected to (see url_guard).
Resolver = Callable[[str, int], list[AddressInfo]]


class _PinnedConnectionMixin:
    """Connect to the addresses the guard checked in one lookup, never resolving again.

    urllib3 would resolve the name once more when connecting, and a name may answer
    differently each time (DNS rebinding). The name stays the connection's host, so the Host
    header, SNI and certificate hostname verification all use it.
    """

    def __init__(self, *args: Any, resolve: Resolver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolve = resolve

    def _new_conn(self) -> socket.socket:
        try:
            candidates = self._resolve(self._dns_host, self.port)
        except (socket.gaierror, UnicodeError) as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: OSError = OSError(f"{self.host} has no address")
        for family, kind, proto, _, sockaddr in candidates:
            try:
                return self._connect(family, kind, proto, sockaddr)
            except OSError as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error

    def _connect(self, family: int, kind: int, proto: int, sockaddr: Any) -> socket.socket:
        sock = socket.socket(family, kind, proto)
        try:
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(self.timeout)
            if self.source_address:
                sock.bind(self.source_address)
            sock.connect(sockaddr)
        except OSError:
            sock.close()
            raise
        return sock


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    def __init__(self, *args: Any, resolve: Resolver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolve = resolve
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        # Not a pool key (urllib3 would refuse an unknown one): every pool gets the resolver.
        pool.conn_kw["resolve"] = self._resolve
        return pool


class PinnedAdapter(HTTPAdapter):
    """Connections to checked addresses only; `ca_certificates` (PEM) replaces the default CAs."""

    def __init__(self, *, resolve: Resolver, ca_certificates: str = "") -> None:
        self._resolve = resolve
        self._ca_certificates = ca_certificates
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        if self._ca_certificates:
            pool_kwargs["ca_cert_data"] = self._ca_certificates
        self.poolmanager = _PinnedPoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            resolve=self._resolve,
            **pool_kwargs,
        )

    def cert_verify(self, conn, url, verify, cert) -> None:
        super().cert_verify(conn, url, verify, cert)
        if verify and self._ca_certificates:
            # requests would add its default bundle: trust only the connection's own CA, as a
            # self-hosted server with a private CA is meant to be reached (curl --cacert).
            conn.ca_certs = None
            conn.ca_cert_dir = None
