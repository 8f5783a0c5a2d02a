"""The language menu of every annotator page (issue 17).

POST /language/ with ``language`` (a code of settings.LANGUAGES, or "" to follow the
browser again) and ``next``: remembers the choice in a cookie (it then wins over
everything else) and, for an annotator, as their preference (so it follows them to
another device), then goes back to ``next``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from annotate.i18n.languages import SESSION_KEY, language_codes
from annotate.roles import annotator_of
from annotate.services.annotators import annotator_language_set

from .common import redirect, safe_next


def language_remember(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """Make ``language`` ("" = the browser's) the one this browser and this annotator
    get: the cookie, the session's copy of the preference, the preference itself."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
        )
    annotator = annotator_of(request.user)
    if annotator is not None:
        annotator_language_set(annotator=annotator, language=language)
        request.session[SESSION_KEY] = language


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    if language not in ("", *language_codes()):
        # Plain text: the code is the client's own input, echoed.
        return HttpResponseBadRequest(
            gettext("Unknown language %(code)s: choose one from the menu.") % {"code": language},
            content_type="text/plain; charset=utf-8",
        )
    response = redirect(request, safe_next(request, reverse("home")))
    language_remember(request, response, language)
    return response
