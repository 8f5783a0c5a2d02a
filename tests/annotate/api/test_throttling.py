"""API rate limits: per user (not per token), anonymous callers per client address."""

from __future__ import annotations

from django.test import RequestFactory, override_settings
from rest_framework.request import Request

from annotate.api.base import ClientAnonRateThrottle, TokenRateThrottle


@override_settings(CHORUS_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_throttles_identify_callers_by_the_proxy_aware_client_address():
    def ident(throttle, remote, forwarded):
        request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded)
        request.META["REMOTE_ADDR"] = remote
        return throttle.get_ident(Request(request))

    for throttle in (ClientAnonRateThrottle(), TokenRateThrottle()):
        assert ident(throttle, "10.0.0.2", "198.51.100.1") == "198.51.100.1"
        assert ident(throttle, "10.0.0.2", "198.51.100.2") == "198.51.100.2"
        assert ident(throttle, "203.0.113.7", "198.51.100.1") == "203.0.113.7"  # spoofed
