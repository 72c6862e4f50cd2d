"""Which webhook URLs we call: http(s) only, and in production never a
loopback, private, link-local or otherwise non-public address (SSRF). The
address is checked when the endpoint is registered and again at every
delivery, and the request then goes to exactly the checked address (a DNS
answer that changes in between cannot redirect it)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from siprems.errors import ValidationFailed


class UnsafeUrl(ValidationFailed):
    """The URL or the address it resolves to is not allowed."""


@dataclass(frozen=True)
class Target:
    url: str  # with the checked IP address as host
    host: str  # the original host name (TLS SNI)
    host_header: str  # the original host[:port]


def check_syntax(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        parts.hostname, parts.port  # noqa: B018 - both parse lazily and may raise
    except ValueError as exc:
        raise UnsafeUrl("Field 'url' is not a valid URL.", code="invalid_url") from exc
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeUrl("Field 'url' must not contain spaces or control characters.", code="invalid_url")
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Field 'url' must be an http:// or https:// URL.", code="invalid_url")
    if not parts.hostname:
        raise UnsafeUrl("Field 'url' has no host.", code="invalid_url")
    if parts.username or parts.password:
        raise UnsafeUrl("Field 'url' must not carry a user name or password.", code="invalid_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("Field 'url' has an invalid port.", code="invalid_url") from exc
    return parts.scheme, parts.hostname, port


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(url: str, *, production: bool) -> Target:
    """The address to send to; refuses non-public addresses in production."""
    scheme, host, port = check_syntax(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"Field 'url': the host {host} does not resolve.", code="unresolvable_url") from exc
    addresses = [str(info[4][0]) for info in infos]
    if production:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise UnsafeUrl(
                f"Field 'url': {host} resolves to a non-public address ({refused[0]}); not allowed.",
                code="forbidden_address",
            )
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    parts = urlsplit(url)
    default_port = port == (443 if scheme == "https" else 80)
    host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
    return Target(urlunsplit((scheme, f"{netloc}:{port}", parts.path or "/", parts.query, "")), host, host_header)
