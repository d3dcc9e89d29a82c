"""Which 3CX base URLs the dashboard may call.

A tenant types the base URL, and workers call it: without this guard anybody could make the
workers fetch loopback services or a cloud metadata endpoint. Private LAN addresses stay
allowed because many 3CX servers live there.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from integrations.threecx.errors import UnsafeAddress

#: Cloud metadata services, refused even though some are ordinary-looking addresses.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
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


def base_url_check_address(url: str, *, allowed: list[str] | tuple[str, ...] = ()) -> None:
    """Resolve the host and refuse loopback, link-local, metadata and other special addresses.

    `allowed` names hosts or addresses that pass anyway (the simulator in development).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in allowed:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(
            f"The host name {host!r} cannot be resolved. Check the spelling of the server address."
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if str(address) in allowed:
            continue
        problem = _address_problem(address)
        if problem:
            raise UnsafeAddress(
                f"{host} resolves to {address}, {problem}; the dashboard does not call such "
                "addresses. Use the address your 3CX server is reached at."
            )


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
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
    return ""
