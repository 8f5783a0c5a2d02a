"""Shared pieces of the API: base view, permissions, throttling, pagination, lookups,
and errors (every error under /api/ is JSON ``{"detail": ...}``: api_exception_handler
for API views, ApiJsonErrorsMiddleware for what Django answers around them).

Access rule everywhere: resolve the object through the caller's *visible* queryset first
(annotate.selectors.annotations.campaigns_visible_to and friends), so an object outside
the caller's grant is indistinguishable from a missing one (404, no details). Only then
is a write checked against the admin role (403: the caller can see it, may not change it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, permissions, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView, exception_handler, set_rollback

from annotate.input.drf import query_int
from annotate.models import Campaign
from annotate.roles import is_admin
from annotate.security.client_ip import client_ip
from annotate.selectors.annotations import campaign_visible_to
from annotate.services import errors as service_errors

log = logging.getLogger("annotate.api")
API_PREFIX = "/api/"
SERVER_ERROR = "A server error occurred."


class _ChorusThrottle:
    """What every API throttle shares.

    Callers without a user are counted by annotate.security.client_ip, not DRF's own
    reading of X-Forwarded-For (NUM_PROXIES), so the API and the login lockout agree on
    who the client is and a spoofed header gets nobody a fresh bucket. The rate is read
    from the settings when the throttle is made (once per request), not from DRF's
    import-time copy, so a changed REST_FRAMEWORK (override_settings) takes effect.
    """

    scope: str | None

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:  # as DRF does: a typo must not switch throttling off
            raise ImproperlyConfigured(f"No DEFAULT_THROTTLE_RATES for scope {self.scope!r}.")
        rate = rates[self.scope]
        return None if rate is None else str(rate)


class ClientAnonRateThrottle(_ChorusThrottle, AnonRateThrottle):
    """Per client address for anonymous calls. Rate: DEFAULT_THROTTLE_RATES["anon"]."""


class PerUserRateThrottle(_ChorusThrottle, UserRateThrottle):
    """Per user id, whichever credential the call carries: every token and session of a
    user share one bucket, so rotating the token (or holding several) resets nothing.

    Rate: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] (env CHORUS_API_THROTTLE).
    """


class IsAdmin(permissions.BasePermission):
    message = "Only administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class ReadOrAdmin(permissions.BasePermission):
    """Reads for whoever can see the object (checked by the lookup), writes for admins."""

    message = "Only administrators may change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)


class IdCursorPagination(CursorPagination):
    """Newest first by id (unique and indexed, so cursors are stable and cheap)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            # A mangled cursor is the client's mistake, not a missing page.
            raise exceptions.ValidationError({"cursor": "Invalid cursor."}) from exc


class ChorusAPIView(APIView):
    throttle_classes = [PerUserRateThrottle, ClientAnonRateThrottle]
    # Set on list views; drf-spectacular reads it to document the paginated envelope.
    pagination_class: Any = IdCursorPagination


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error of an API view as JSON.

    The body is ``{"detail": ...}`` (field errors: ``{field: [...]}``) with the right
    status: DRF's own errors as DRF answers them, Django's Http404 and PermissionDenied
    as 404 and 403, Django's ValidationError (model validation inside a service) and
    SuspiciousOperation as 400, a service's NotFound as 404 and other ServiceErrors
    (messages meant for the caller) as 400. Anything else is a bug: logged with its
    traceback, answered 500 with a fixed message that gives nothing away.

    Database-down errors are re-raised: DatabaseUnavailableMiddleware answers those 503
    with Retry-After, for the API and the pages alike.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        return None
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, SuspiciousOperation):
        # Logged where Django logs its own (django.security.<Class>); the reason may
        # quote what the client sent, so it stays out of the answer.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        exc = BadRequest()
    elif isinstance(exc, service_errors.NotFound):
        exc = exceptions.NotFound()
    elif isinstance(exc, service_errors.ServiceError):
        exc = BadRequest(str(exc))
    response = exception_handler(exc, context)
    if response is not None:
        return response
    request = context.get("request")
    log.error(
        "Internal server error: %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    set_rollback()
    return Response({"detail": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


_DETAILS = {
    400: "Bad request.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: SERVER_ERROR,
}


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return content_type.endswith("/json") or content_type.endswith("+json")


class ApiJsonErrorsMiddleware:
    """Under /api/, an error answer that is not JSON becomes ``{"detail": ...}``.

    API views answer JSON themselves (api_exception_handler); this catches what Django
    answers around them: an unknown URL (404), a crash outside DRF (500; Django has
    logged it already), a PermissionDenied, Http404 or SuspiciousOperation raised by
    middleware or a plain view, and Django's debug pages when DEBUG is on. Listed just
    inside SecurityMiddleware and the CSP, so every error it sees is its to rewrite and
    the security headers still go on the JSON answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or _is_json(response)
        ):
            return response
        code = response.status_code
        data = getattr(response, "data", None)
        if isinstance(response, Response) and data is not None:
            # DRF's browsable page for an error (a browser's Accept: text/html): keep
            # what the view said, as JSON like every other client gets it.
            answer = JsonResponse(data, status=code, safe=False)
        else:
            answer = JsonResponse({"detail": self._detail(request, code)}, status=code)
        for header, value in response.items():  # Allow, Retry-After, Vary, ...
            if header.lower() not in ("content-type", "content-length"):
                answer[header] = value
        answer.cookies = response.cookies
        return answer

    @staticmethod
    def _detail(request: HttpRequest, code: int) -> str:
        if code == 405:
            return f'Method "{request.method}" not allowed.'
        if code in _DETAILS:
            return _DETAILS[code]
        try:
            return f"{HTTPStatus(code).phrase}."
        except ValueError:  # a status Python has no name for
            return "Error."


def campaign_or_404(request: Request, slug: str) -> Campaign:
    campaign = campaign_visible_to(user=request.user, slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def require_admin(request: Request) -> None:
    if not is_admin(request.user):
        raise exceptions.PermissionDenied("Only administrators may do this.")


def int_param(request: Request, name: str) -> int | None:
    return query_int(request.query_params, name)
