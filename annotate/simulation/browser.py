"""The HTTP side of one simulated person, as a browser does it: cookies (cookies.py),
the CSRF token on every POST, redirects followed hop by hop, every request timed and
counted by kind in the person's result.

A kept-alive connection that the server closes while idle (gunicorn's keep-alive
timeout, 2 s by default) can fail the next request sent on it before the server reads
a byte of it (benoitc/gunicorn#1698). A browser sends such a request again on a new
connection without telling anyone; so does this one, once per request, counting it in
``result.reconnects`` rather than as an error. Any other failure, or a second one,
is an error.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from .cookies import CookieStore

if TYPE_CHECKING:
    from .driver import PersonResult

TASK_URL = re.compile(r"/tasks/(\d+)/?$")
# What a connection closed under the request looks like: no response, or a reset.
_CLOSED_UNDER_US = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def request_kind(url: str) -> str:
    path = urlsplit(url).path
    if path.endswith("/submit/"):
        return "submit"
    if path.endswith("/skip/"):
        return "skip"
    if TASK_URL.search(path):
        return "task_page"
    if path.startswith("/c/") and "/consent/" not in path:
        return "next"
    return "onboarding"


class Browser:
    def __init__(
        self,
        *,
        base_url: str,
        result: PersonResult,
        deadline: float,
        max_errors: int,
        retry_503: bool,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.result = result
        self.deadline = deadline
        self.max_errors = max_errors
        self.retry_503 = retry_503
        # Cookies are kept by ``CookieStore`` and sent as a header; httpx's own jar is
        # emptied after every response (see cookies.py for why).
        self.cookies = CookieStore(https=self.base.startswith("https:"))
        self.client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=60.0)

    def _csrf(self) -> str:
        return self.cookies.get("csrftoken")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kind = request_kind(url)
        headers = kwargs.pop("headers", {}) or {}
        if method == "POST":
            headers.setdefault("X-CSRFToken", self._csrf())
            headers.setdefault("Referer", self.base + "/")
        resent = False
        while True:
            cookie = self.cookies.header()
            if cookie:
                headers["Cookie"] = cookie
            else:
                headers.pop("Cookie", None)
            t0 = time.perf_counter()
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                if isinstance(exc, _CLOSED_UNDER_US) and not resent:
                    resent = True  # the keep-alive race: send again at once, as a browser does
                    self.result.reconnects += 1
                    continue
                self.result.errors[kind] += 1
                self.result.transport_errors.append(f"{method} {url}: {exc!r}")
                if self._too_many_errors():
                    raise
                time.sleep(0.2)
                continue
            self.result.latencies[kind].append((time.perf_counter() - t0) * 1000.0)
            if "set-cookie" in response.headers:
                self.cookies.take(response)
                self.client.cookies.clear()
            self.result.codes[response.status_code] += 1
            if response.status_code >= 500:
                self.result.errors[kind] += 1
                if response.status_code == 503 and self.retry_503 and not self._too_many_errors():
                    time.sleep(min(2.0, float(response.headers.get("Retry-After", "1") or 1)))
                    continue
            return response

    def _too_many_errors(self) -> bool:
        n_errors = sum(self.result.errors.values())
        return n_errors > self.max_errors or time.monotonic() > self.deadline

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow 3xx and htmx HX-Redirect like a browser, each hop timed."""
        for _ in range(10):
            location = response.headers.get("HX-Redirect") or (
                response.headers.get("Location") if response.is_redirect else None
            )
            if not location:
                return response
            response = self.request("GET", urljoin(str(response.url), location))
        return response

    def post_form(self, url: str, data: dict[str, Any], *, htmx: bool = False) -> httpx.Response:
        headers = {"HX-Request": "true", "HX-Current-URL": url} if htmx else {}
        data = {**data, "csrfmiddlewaretoken": self._csrf()}
        return self.request("POST", url, data=data, headers=headers)
