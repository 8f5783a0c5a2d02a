"""API rate limits: per user (not per token), anonymous callers per client address."""

from __future__ import annotations

from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.test import APIClient

from annotate.api.base import ClientAnonRateThrottle, PerUserRateThrottle


@override_settings(CHORUS_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_throttles_identify_callers_by_the_proxy_aware_client_address():
    def ident(throttle, remote, forwarded):
        request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded)
        request.META["REMOTE_ADDR"] = remote
        return throttle.get_ident(Request(request))

    for throttle in (ClientAnonRateThrottle(), PerUserRateThrottle()):
        assert ident(throttle, "10.0.0.2", "198.51.100.1") == "198.51.100.1"
        assert ident(throttle, "10.0.0.2", "198.51.100.2") == "198.51.100.2"
        assert ident(throttle, "203.0.113.7", "198.51.100.1") == "203.0.113.7"  # spoofed


def test_rotating_the_token_does_not_reset_the_rate(world, settings):
    from django.core.cache import cache

    from annotate.services.tokens import api_token_rotate

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = world.client("res_a")
    codes = [client.get("/api/v1/campaigns/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    token = api_token_rotate(user=world.res_a)
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = fresh.get("/api/v1/campaigns/")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert "throttled" in response.json()["detail"].lower()
    assert int(response["Retry-After"]) > 0
    # The old token no longer works at all; the session of the same user shares the bucket.
    assert client.get("/api/v1/campaigns/").status_code == 401
    session = APIClient()
    session.force_login(world.res_a)
    assert session.get("/api/v1/campaigns/").status_code == 429
    cache.clear()
