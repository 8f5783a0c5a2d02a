"""Signatures a receiver can check, and the addresses a webhook may (not) call."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from annotate.webhooks import network
from annotate.webhooks.signing import sign, signature, verify

BODY = b'{"type":"ping"}'


def test_signature_verifies_and_catches_tampering_replay_and_wrong_secret():
    header = sign(secret="s3cret", body=BODY, now=1_800_000_000)
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(secret="s3cret", header=header, body=BODY, now=1_800_000_100)
    assert not verify(secret="s3cret", header=header, body=BODY + b" ", now=1_800_000_100)
    assert not verify(secret="other", header=header, body=BODY, now=1_800_000_100)
    assert not verify(secret="s3cret", header=header, body=BODY, now=1_800_000_400)  # replay
    assert not verify(secret="s3cret", header="garbage", body=BODY)
    # the recipe in the README, by hand
    import hashlib
    import hmac

    mac = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert (
        signature(secret="s3cret", timestamp=1_800_000_000, body=BODY) == f"t=1800000000,v1={mac}"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://172.16.0.5/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",
        "ftp://example.org/x",
        "file:///etc/passwd",
        "http://user:pw@example.org/x",
        "http:///nohost",
    ],
)
def test_private_loopback_link_local_and_odd_urls_are_refused(url, settings):
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(network.AddressRefused):
        network.resolve(url)


def test_the_allow_list_names_what_may_be_called(settings):
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target = network.resolve("http://127.0.0.1:8123/hook?x=1")
    assert target.url == "http://127.0.0.1:8123/hook?x=1" and target.host == "127.0.0.1"
    with pytest.raises(network.AddressRefused):
        network.resolve("http://10.0.0.1/x")


def _fake_dns(monkeypatch, answers: list[str]) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers]

    monkeypatch.setattr(network.socket, "getaddrinfo", getaddrinfo)


def test_every_resolved_address_must_be_public(monkeypatch, settings):
    """DNS rebinding: a name answering a public and a private address is refused."""
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = []
    _fake_dns(monkeypatch, ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(network.AddressRefused, match=r"10\.0\.0\.7"):
        network.resolve("https://hooks.example.org/x")


def test_the_request_goes_to_the_checked_address_with_the_name_for_host_and_tls(
    monkeypatch, settings
):
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = []
    _fake_dns(monkeypatch, ["93.184.216.34"])
    target = network.resolve("https://hooks.example.org/in?a=b")
    assert target.url == "https://93.184.216.34:443/in?a=b"
    assert target.host == "hooks.example.org"
    assert target.address == ipaddress.ip_address("93.184.216.34")
    seen = {}

    class FakeClient:
        def __init__(self, **kwargs):
            seen["client"] = kwargs

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def post(self, url, **kwargs):
            seen.update(url=url, **kwargs)
            return "answer"

    monkeypatch.setattr(network.httpx, "Client", FakeClient)
    network.post(url="https://hooks.example.org/in?a=b", body=b"{}", headers={}, timeout_s=3)
    assert seen["url"] == "https://93.184.216.34:443/in?a=b"
    assert seen["headers"]["Host"] == "hooks.example.org"
    assert seen["extensions"] == {"sni_hostname": "hooks.example.org"}
    assert seen["client"]["follow_redirects"] is False
