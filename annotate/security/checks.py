"""System checks for the proxy settings (annotate.security.client_ip).

- chorus.E001: a CHORUS_TRUSTED_PROXIES entry is not a CIDR (found at start-up, not on
  the first login);
- chorus.W001 (``check --deploy``): CHORUS_HTTPS is on, which means a TLS-terminating
  proxy in front, but no proxy is trusted: every client would count as the proxy's one
  address, and 30 failed logins by anyone would lock everyone out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from .client_ip import trusted_proxies


@register(Tags.security)
def check_trusted_proxies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        trusted_proxies()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Comma-separated CIDRs, e.g. 10.0.0.0/8.", id="chorus.E001")]
    return []


@register(Tags.security, deploy=True)
def check_proxy_behind_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        proxies = trusted_proxies()
    except ImproperlyConfigured:
        return []  # chorus.E001 says so
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not proxies:
        return [
            Warning(
                "CHORUS_HTTPS is on (a reverse proxy in front) but CHORUS_TRUSTED_PROXIES "
                "is empty: every client counts as the proxy's address for login lockouts "
                "and API rate limits.",
                hint="Set CHORUS_TRUSTED_PROXIES to the proxy's addresses (CIDRs).",
                id="chorus.W001",
            )
        ]
    return []
