"""The client's address, the one every per-address rule counts by (login lockout, API
throttling, the audit log).

REMOTE_ADDR is the peer of the TCP connection. Behind a reverse proxy that peer is the
proxy, so every client would share one address (one client's 30 failed logins would lock
everybody out). The proxy appends the address it saw to ``X-Forwarded-For``; anything to
the left of what our own proxies appended was written by the client and proves nothing.
So the header is read only when REMOTE_ADDR is a trusted proxy
(``CHORUS_TRUSTED_PROXIES``, CIDRs), walked from the right, skipping trusted proxies, and
the first untrusted address is the client. A malformed entry stops the walk: nothing to
its left can be trusted, and the last good address (a proxy of ours) is used instead.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CHORUS_TRUSTED_PROXIES: {exc}") from exc


def trusted_proxies() -> tuple[Network, ...]:
    """The parsed ``CHORUS_TRUSTED_PROXIES`` (a list of CIDRs; empty: trust no proxy)."""
    value = getattr(settings, "CHORUS_TRUSTED_PROXIES", ()) or ()
    if isinstance(value, str):
        value = value.split(",")
    return _networks(tuple(part.strip() for part in value if part.strip()))


def _parse(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket shows up as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: object) -> str:
    """The client's address ("" when the request has none, e.g. a test without one)."""
    meta = getattr(request, "META", None) or {}
    remote = str(meta.get("REMOTE_ADDR") or "").strip()
    peer = _parse(remote)
    if peer is None:
        return remote[:64]
    networks = trusted_proxies()
    if not _trusted(peer, networks):
        return str(peer)
    # Several X-Forwarded-For headers arrive joined with commas, in order.
    hops = str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")
    last_good = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # malformed (or empty): nothing left of it can be trusted
        last_good = address
        if not _trusted(address, networks):
            return str(address)
    return str(last_good)
