"""The simulator's cookie store against the Set-Cookie lines Django itself writes."""

from __future__ import annotations

import httpx
from django.http import HttpResponse

from annotate.simulation.cookies import CookieStore


def as_httpx(django_response: HttpResponse) -> httpx.Response:
    lines = [("set-cookie", m.OutputString()) for m in django_response.cookies.values()]
    return httpx.Response(200, headers=lines)


def test_set_then_delete_as_django_writes_them() -> None:
    store = CookieStore(https=False)
    set_both = HttpResponse()
    set_both.set_cookie("sessionid", "abc123", httponly=True, samesite="Lax")
    set_both.set_cookie("csrftoken", "tok", max_age=3600)
    store.take(as_httpx(set_both))
    assert store.get("csrftoken") == "tok"
    assert store.header() == "sessionid=abc123; csrftoken=tok"

    rotated = HttpResponse()
    rotated.set_cookie("csrftoken", "tok2")
    rotated.delete_cookie("sessionid")  # Max-Age=0 and an Expires in 1970
    store.take(as_httpx(rotated))
    assert store.header() == "csrftoken=tok2"
    assert store.get("sessionid") == ""


def test_an_expires_in_the_past_alone_deletes() -> None:
    store = CookieStore(https=False)
    store.take(httpx.Response(200, headers=[("set-cookie", "a=1; Path=/")]))
    store.take(
        httpx.Response(
            200, headers=[("set-cookie", "a=2; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/")]
        )
    )
    assert store.header() == ""


def test_secure_cookies_only_over_https_and_junk_is_ignored() -> None:
    response = HttpResponse()
    response.set_cookie("sessionid", "s", secure=True)
    response.set_cookie("django_language", "fr")
    plain, tls = CookieStore(https=False), CookieStore(https=True)
    for store in (plain, tls):
        store.take(as_httpx(response))
        store.take(httpx.Response(200, headers=[("set-cookie", "bad name\x00=; ;")]))
    assert plain.header() == "django_language=fr"
    assert tls.header() == "sessionid=s; django_language=fr"


def test_a_quoted_value_goes_back_as_it_came() -> None:
    """Django quotes a value with spaces or commas (the messages cookie); the header
    carries it quoted, as a browser does, while ``get`` reads it unquoted."""
    response = HttpResponse()
    response.set_cookie("messages", 'a b,"c"')
    store = CookieStore(https=False)
    store.take(as_httpx(response))
    assert store.get("messages") == 'a b,"c"'
    assert store.header() == 'messages="a b\\054\\"c\\""'
