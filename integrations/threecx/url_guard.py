"""Which 3CX base URLs the dashboard may call.

A tenant types the base URL, and workers call it: without this guard anybody could make the
workers fetch loopback services or a cloud metadata endpoint. Private LAN addresses stay
allowed because many 3CX servers live there, unless the deployment refuses them
(THREECX_REFUSE_PRIVATE, for hosted multi-tenant dashboards).

The check is made when a connection is saved, and again on every new TCP connection: the
transport connects to the very addresses `host_addresses_checked` returned, so a name that
resolves differently later (DNS rebinding) cannot lead the workers anywhere else.
"""

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from integrations.threecx.errors import UnsafeAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: One answer of socket.getaddrinfo: (family, type, proto, canonname, sockaddr).
AddressInfo = tuple[Any, ...]

#: Cloud metadata services, refused even though some are ordinary-looking addresses.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
#: Well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: IPv4-compatible IPv6 addresses (::a.b.c.d, deprecated but still routed by some stacks).
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be called, beyond public and (unless refused) private ones.

    `allowed` names hosts or addresses that pass anyway (the simulator in development);
    `refuse_private` refuses private, shared and other non-public ranges as well.
    """

    allowed: tuple[str, ...] = ()
    refuse_private: bool = False

    @classmethod
    def from_settings(cls) -> "AddressPolicy":
        return cls(
            allowed=tuple(settings.THREECX_ALLOWED_ADDRESSES),
            refuse_private=settings.THREECX_REFUSE_PRIVATE,
        )


def base_url_normalize(url: str, *, allow_http: bool) -> str:
    """Check the URL's shape and return it as `scheme://host[:port]` (no path, no slash)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeAddress(f"{url!r} is not a valid URL; the port must be a number.") from None
    allowed = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in allowed:
        needed = "http:// or https://" if allow_http else "https://"
        raise UnsafeAddress(
            f"The server address must start with {needed}, e.g. https://pbx.example.com:5001."
        )
    if not parts.hostname:
        raise UnsafeAddress("The server address has no host name, e.g. https://pbx.example.com.")
    if parts.username or parts.password:
        raise UnsafeAddress("Leave user names and passwords out of the server address.")
    path = parts.path.rstrip("/")
    if path.lower().endswith("/xapi/v1"):
        path = path[: -len("/xapi/v1")]
    if path or parts.query or parts.fragment:
        raise UnsafeAddress(
            "Enter only the server address (https://pbx.example.com:5001), without a path."
        )
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc.lower(), "", "", ""))


def base_url_check_address(
    url: str, *, allowed: list[str] | tuple[str, ...] = (), refuse_private: bool = False
) -> None:
    """Resolve the host and refuse loopback, link-local, metadata and other special addresses.

    `allowed` names hosts or addresses that pass anyway (the simulator in development).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in allowed:
        return
    policy = AddressPolicy(allowed=tuple(allowed), refuse_private=refuse_private)
    try:
        host_addresses_checked(host, parts.port or 443, policy=policy)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(
            f"The host name {host!r} cannot be resolved. Check the spelling of the server address."
        ) from None


def host_addresses_checked(host: str, port: int, *, policy: AddressPolicy) -> list[AddressInfo]:
    """Resolve `host` once and return its addresses, all of them allowed by `policy`.

    Raises socket.gaierror (or UnicodeError) when the name does not resolve, and UnsafeAddress
    when any address is refused: a name that also points somewhere forbidden is not used.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if host in policy.allowed:
        return infos
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if str(address) in policy.allowed:
            continue
        problem = _address_problem(address, refuse_private=policy.refuse_private)
        if problem:
            raise UnsafeAddress(
                f"{host} resolves to {address}, {problem}; the dashboard does not call such "
                "addresses. Use the address your 3CX server is reached at."
            )
    return infos


def _address_problem(address: IPAddress, *, refuse_private: bool = False) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            address = address.ipv4_mapped
        else:
            problem = _embedded_ipv4_problem(address, refuse_private=refuse_private)
            if problem is not None:
                return problem
    if address in METADATA_ADDRESSES:
        return "a cloud metadata service"
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if refuse_private and not address.is_global:
        return "a private or non-public address, and this dashboard calls only public ones"
    return ""


def _embedded_ipv4_problem(address: ipaddress.IPv6Address, *, refuse_private: bool) -> str | None:
    """The problem of an IPv6 transition address judged by the IPv4 address it carries.

    Such addresses reach (or tunnel to) an IPv4 address, so 6to4 2002:7f00:1:: is as much
    loopback as 127.0.0.1 is. None: not a transition form, judge the IPv6 address itself.
    A NAT64 address reaches its IPv4 address and nothing else, so that verdict is final.
    """
    if address in NAT64:
        inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        problem = _address_problem(inner, refuse_private=refuse_private)
        return f"a NAT64 address for {inner}, {problem}" if problem else ""
    carried: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.sixtofour is not None:
        carried.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        carried += [("Teredo", server), ("Teredo", client)]
    if address in IPV4_COMPATIBLE and int(address) > 0xFFFF:
        carried.append(("IPv4-compatible", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    for kind, inner in carried:
        problem = _address_problem(inner, refuse_private=refuse_private)
        if problem:
            return f"a {kind} address carrying {inner}, {problem}"
    return None
