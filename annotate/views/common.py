"""Helpers shared by the annotator pages: who is asking, htmx-aware redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from annotate.models import Annotator
from annotate.roles import annotator_of
from annotate.services import annotator_get_or_create


def is_htmx(request: HttpRequest) -> bool:
    # A history-restore request wants the whole page, not a fragment.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect htmx follows as a full navigation (HX-Redirect), or a plain 302/303."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url, status=303 if request.method == "POST" else 302)


def platform_redirect(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """Send a participant to their crowd platform (screen-out or completion URL).

    htmx navigates by HX-Redirect. A plain page gets a same-site page that refreshes to
    the platform, not a 302: the pages' CSP says ``form-action 'self'``, and browsers
    apply it to every redirect after a form's POST (the screener's, the consent's), so a
    302 to another site there is blocked and the participant is stranded.
    """
    if is_htmx(request):
        return redirect(request, url)
    return render(request, "annotate/platform_redirect.html", {"url": url, "message": message})


def safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def annotator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log-in check that also works for htmx requests; passes ``annotator`` to the view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login = resolve_url(settings.LOGIN_URL)
            here = request.get_full_path()
            if request.method != "GET":
                # Back to the page the form was on, not to a POST-only endpoint.
                current = urlsplit(request.headers.get("HX-Current-URL", ""))
                here = current.path or "/"
            return redirect(request, f"{login}?{urlencode({'next': here})}")
        # Usually loaded with the session's user (no query); created on first need.
        annotator: Annotator = annotator_of(request.user) or annotator_get_or_create(
            user=request.user
        )
        annotator.user = request.user
        request.user.annotator = annotator  # templates: no re-query
        return view(request, *args, annotator=annotator, **kwargs)

    return wrapper
