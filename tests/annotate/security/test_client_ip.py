"""The client address behind (or without) trusted reverse proxies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from annotate.security.client_ip import client_ip

PROXIES = ["10.0.0.0/8", "fd00::/8"]


def _ip(remote: str | None, forwarded: str | None = None) -> str:
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return client_ip(request)


def test_without_trusted_proxies_the_header_is_ignored():
    assert _ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@override_settings(CHORUS_TRUSTED_PROXIES=PROXIES)
def test_an_untrusted_peer_cannot_spoof_its_address():
    assert _ip("203.0.113.7", "198.51.100.1, 10.0.0.5") == "203.0.113.7"


@override_settings(CHORUS_TRUSTED_PROXIES=PROXIES)
def test_behind_one_proxy_the_forwarded_client_counts():
    assert _ip("10.0.0.2", "198.51.100.1") == "198.51.100.1"
    assert _ip("10.0.0.2") == "10.0.0.2"  # no header: the proxy itself


@override_settings(CHORUS_TRUSTED_PROXIES=PROXIES)
def test_a_chain_of_proxies_is_walked_from_the_right():
    # client -> edge proxy 10.1.1.1 -> inner proxy 10.2.2.2 -> us (peer 10.3.3.3)
    assert _ip("10.3.3.3", "198.51.100.9, 10.1.1.1, 10.2.2.2") == "198.51.100.9"
    # What the client wrote itself (left of its own address) is never believed.
    assert _ip("10.3.3.3", "1.2.3.4, 198.51.100.9, 10.1.1.1") == "198.51.100.9"
    # Two headers arrive joined in order.
    assert _ip("10.3.3.3", "198.51.100.9,10.1.1.1,  10.2.2.2 ") == "198.51.100.9"
    # Every hop a proxy of ours: the leftmost one.
    assert _ip("10.3.3.3", "10.1.1.1, 10.2.2.2") == "10.1.1.1"


@override_settings(CHORUS_TRUSTED_PROXIES=PROXIES)
def test_ipv6_and_ipv4_mapped_addresses():
    assert _ip("fd00::1", "2001:db8::5") == "2001:db8::5"
    assert _ip("::ffff:10.0.0.2", "198.51.100.1") == "198.51.100.1"


@override_settings(CHORUS_TRUSTED_PROXIES=PROXIES)
def test_a_malformed_entry_stops_the_walk_at_the_last_good_address():
    assert _ip("10.0.0.2", "198.51.100.1, not-an-ip") == "10.0.0.2"
    assert _ip("10.0.0.2", "198.51.100.1, garbage, 10.1.1.1") == "10.1.1.1"
    assert _ip("10.0.0.2", "198.51.100.1,,10.1.1.1") == "10.1.1.1"
    assert _ip("10.0.0.2", "198.51.100.1:4711") == "10.0.0.2"


def test_no_or_odd_remote_addr():
    assert _ip(None) == ""
    assert _ip("unix-socket", "198.51.100.1") == "unix-socket"


@override_settings(CHORUS_TRUSTED_PROXIES=["10.0.0.0/33"])
def test_a_bad_cidr_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured):
        _ip("10.0.0.2")
