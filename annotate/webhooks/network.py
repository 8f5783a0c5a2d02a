"""Which addresses a webhook may call, and the call itself (SSRF protection).

A webhook URL is typed by an admin, but the request leaves from inside the network: a
URL pointing at 127.0.0.1, 10.x, 169.254.169.254 (cloud metadata) or a name resolving
there would let the webhook reach internal services. So at every delivery the host is
resolved and EVERY address it resolves to must be public (not private, loopback,
link-local, multicast, reserved or unspecified), unless ``CHORUS_WEBHOOK_ALLOWED_NETWORKS``
names it; the request then goes to the address that was checked (the name is kept for
the Host header and TLS), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL may not be called (scheme, host, or an address that is not public)."""


@dataclass(frozen=True)
class Target:
    url: str  # with the checked address in place of the host name
    host: str  # the original host, for the Host header and TLS server name
    address: IPAddress


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "CHORUS_WEBHOOK_ALLOWED_NETWORKS", []) or []
    return [ipaddress.ip_network(cidr, strict=False) for cidr in raw]


def address_allowed(address: IPAddress) -> bool:
    if any(address in net for net in allowed_networks()):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address.is_global and not address.is_multicast


def _parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused("Only http:// and https:// URLs can receive webhooks.")
    if parts.username or parts.password:
        raise AddressRefused("Put no user name or password in the URL; the signature is the proof.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("The URL's port is not a number.") from None
    if not parts.hostname:
        raise AddressRefused("The URL has no host.")
    return parts.scheme, parts.hostname, port


def resolve(url: str) -> Target:
    """The address to call for ``url``; AddressRefused says why not."""
    scheme, host, port = _parts(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"Cannot resolve {host!r} ({exc}).") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"{host!r} resolves to no address.")
    refused = [a for a in addresses if not address_allowed(a)]
    if refused:
        raise AddressRefused(
            f"{host!r} resolves to {refused[0]}, a private, loopback or otherwise non-public "
            "address; list it in CHORUS_WEBHOOK_ALLOWED_NETWORKS to allow it."
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    parts = urlsplit(url)
    netloc = f"{literal}:{port}"
    return Target(urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")), host, address)


def post(*, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> httpx.Response:
    """POST ``body`` to the checked address of ``url`` (raises AddressRefused/httpx errors)."""
    target = resolve(url)
    port = urlsplit(url).port
    host_header = target.host if port is None else f"{target.host}:{port}"
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        return client.post(
            target.url,
            content=body,
            headers={**headers, "Host": host_header},
            # TLS: the certificate is checked against the name, not the address.
            extensions={"sni_hostname": target.host},
        )
