"""A person's cookies for one Chorus host, kept as a plain dict.

httpx's cookie jar (http.cookiejar underneath) copies the whole jar into every request it
builds, and builds a second request for every redirect, followed or not. Under load that
was a fifth of the simulator's CPU, on the same cores as the server it measures. The
simulator talks to one host, so a dict of name -> value does what a browser does here:
Set-Cookie stores or deletes (Max-Age <= 0, or an Expires in the past, as Django's
``delete_cookie`` sends), and a Secure cookie is only sent over https.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie

import httpx


class CookieStore:
    def __init__(self, *, https: bool) -> None:
        self.https = https
        self.values: dict[str, str] = {}  # name -> value (unquoted, as a script reads it)
        self._sent: dict[str, str] = {}  # name -> value exactly as Set-Cookie wrote it
        self._secure: set[str] = set()

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def header(self) -> str:
        """The Cookie header to send, "" when there is nothing to send."""
        return "; ".join(
            f"{k}={v}" for k, v in self._sent.items() if self.https or k not in self._secure
        )

    def take(self, response: httpx.Response) -> None:
        """Store or delete what the response's Set-Cookie headers say."""
        for line in response.headers.get_list("set-cookie"):
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(line)
            except CookieError:
                continue  # a browser ignores a cookie it cannot parse
            for name, morsel in parsed.items():
                if _expired(morsel["max-age"], morsel["expires"]):
                    self.values.pop(name, None)
                    self._sent.pop(name, None)
                    self._secure.discard(name)
                    continue
                self.values[name] = morsel.value
                self._sent[name] = morsel.coded_value
                if morsel["secure"]:
                    self._secure.add(name)
                else:
                    self._secure.discard(name)


def _expired(max_age: str, expires: str) -> bool:
    if max_age:
        try:
            return int(max_age) <= 0
        except ValueError:
            return False
    if expires:
        try:
            return parsedate_to_datetime(expires).timestamp() <= time.time()
        except (TypeError, ValueError):
            return False
    return False
