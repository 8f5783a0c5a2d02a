"""Middleware of issue 8: Content-Security-Policy, audit request context, database-down 503.

Settings read (all optional):
- ``CHORUS_CSP``: the policy string (default :data:`DEFAULT_CSP`: no inline script, no
  inline style, nothing from other origins);
- ``CHORUS_CSP_REPORT_ONLY``: send it as ``Content-Security-Policy-Report-Only``;
- ``CHORUS_CSP_INLINE_SCRIPT_PATHS``: path prefixes allowed inline script and style
  (default: the API reference pages ``/api/docs/`` and ``/api/redoc/``);
- ``CHORUS_RETRY_AFTER_S``: the Retry-After of a database-down 503 (default 5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from annotate.services.audit import current_request

logger = logging.getLogger(__name__)

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

Handler = Callable[[HttpRequest], HttpResponse]


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not set its own."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CHORUS_CSP", DEFAULT_CSP)
        self.header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "CHORUS_CSP_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )
        # The generated API reference pages (drf-spectacular's Swagger UI and ReDoc) boot
        # with one inline script; they show no user content, so only they may run it.
        self.relaxed_prefixes = tuple(
            getattr(settings, "CHORUS_CSP_INLINE_SCRIPT_PATHS", ("/api/docs/", "/api/redoc/"))
        )
        self.relaxed = (
            self.policy.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            .replace("img-src 'self' data:", "img-src 'self' data: blob:")
            .replace("default-src 'self'", "default-src 'self'; worker-src 'self' blob:")
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and self.header not in response:
            relaxed = request.path.startswith(self.relaxed_prefixes)
            response[self.header] = self.relaxed if relaxed else self.policy
        return response


class AuditContextMiddleware:
    """Makes the request visible to ``audit_record`` (actor and address of signal hooks).

    Stores the request, not the user: DRF authenticates tokens inside the view and sets
    ``request.user`` on the underlying HttpRequest then, so the actor is read late.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


def wants_json(request: HttpRequest) -> bool:
    return (
        request.path.startswith("/api/")
        or request.headers.get("HX-Request") == "true"
        or "application/json" in request.headers.get("Accept", "")
    )


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Chorus is briefly unavailable</title></head><body>
<h1>Chorus is briefly unavailable</h1>
<p>We cannot reach our database right now. Nothing you submitted before this message was
lost. Please wait a few seconds and reload the page.</p></body></html>"""


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    retry = str(int(getattr(settings, "CHORUS_RETRY_AFTER_S", 5)))
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(
            {
                "detail": "The database is unavailable; retry in a few seconds.",
                "code": "database_unavailable",
            },
            status=503,
        )
    else:
        # Plain string, no template: context processors would touch the database.
        response = HttpResponse(_PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = retry
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """PostgreSQL unreachable -> a clear 503 with Retry-After instead of a 500.

    Views' exceptions arrive in ``process_exception``. An error raised elsewhere (another
    middleware, a lazy session load) has already been turned into a 500 by Django's
    handler by the time it gets here; the ``got_request_exception`` hook
    (security.signals) marks such requests, and ``__call__`` swaps the 500 for the 503.
    Recovery needs no restart: Django drops a broken connection at the end of the request
    and ``CONN_HEALTH_CHECKS`` tests a persistent one before reuse.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "_chorus_db_unavailable", False):
            return database_unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            # Outer middleware may still fail on the way out (SessionMiddleware reading a
            # session it could not load): __call__ then turns that 500 into this 503 too.
            request._chorus_db_unavailable = True  # type: ignore[attr-defined]
            logger.warning(
                "database unavailable on %s %s: %s", request.method, request.path, exception
            )
            return database_unavailable_response(request)
        return None
