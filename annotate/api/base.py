"""Shared pieces of the API: base view, permissions, throttling, pagination, lookups.

Access rule everywhere: resolve the object through the caller's *visible* queryset first
(annotate.selectors.annotations.campaigns_visible_to and friends), so an object outside
the caller's grant is indistinguishable from a missing one (404, no details). Only then
is a write checked against the admin role (403: the caller can see it, may not change it).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from annotate.models import Campaign
from annotate.roles import is_admin
from annotate.selectors.annotations import campaigns_visible_to


class TokenRateThrottle(UserRateThrottle):
    """Per token when the request carries one (each token its own bucket), else per user.

    Rate: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] (env CHORUS_API_THROTTLE).
    """

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = getattr(request.auth, "key", None)
        if key:
            return self.cache_format % {"scope": self.scope, "ident": f"token-{key[:12]}"}
        return super().get_cache_key(request, view)


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
    throttle_classes = [TokenRateThrottle, AnonRateThrottle]
    # Set on list views; drf-spectacular reads it to document the paginated envelope.
    pagination_class: Any = IdCursorPagination

    def handle_exception(self, exc: Exception) -> Any:
        # Model validation raised inside a service is the client's bad input: 400.
        if isinstance(exc, DjangoValidationError):
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            exc = exceptions.ValidationError(detail)
        return super().handle_exception(exc)


def campaign_or_404(request: Request, slug: str) -> Campaign:
    campaign = campaigns_visible_to(request.user).filter(slug=slug).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def require_admin(request: Request) -> None:
    if not is_admin(request.user):
        raise exceptions.PermissionDenied("Only administrators may do this.")


def int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise exceptions.ValidationError({name: "Must be a whole number."}) from None
