"""Which language a request is answered in.

In this order: the language chosen in the menu (a cookie, set by ``language_switch``),
the annotator's saved preference (``Annotator.ui_language``, cached in the session),
the browser's ``Accept-Language``, else ``settings.LANGUAGE_CODE`` (English). Pages for
staff and machines (``settings.CHORUS_ENGLISH_ONLY_PATHS``) are always English.

Django's own LocaleMiddleware does the first, third and fourth but has no place for a
preference stored with the account; this one replaces it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from annotate.selectors.onboarding import annotator_ui_language

from .languages import SESSION_KEY, language_supported


def profile_language(request: HttpRequest) -> str | None:
    """The signed-in annotator's preference, from the session (one query the first time
    a session asks, then none)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    session = request.session
    if SESSION_KEY not in session:
        session[SESSION_KEY] = annotator_ui_language(user_id=user.pk)
    return language_supported(session[SESSION_KEY])


def request_language(request: HttpRequest) -> str:
    """The language of this request; see the module docstring for the order."""
    chosen = language_supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen:
        return chosen
    preferred = profile_language(request)
    if preferred:
        return preferred
    # The cookie is absent or unusable here, so this reads Accept-Language, then falls
    # back to LANGUAGE_CODE.
    return translation.get_language_from_request(request)


def english_only(request: HttpRequest) -> bool:
    return request.path_info.startswith(tuple(settings.CHORUS_ENGLISH_ONLY_PATHS))


class UILanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fixed = english_only(request)
        language = settings.LANGUAGE_CODE if fixed else request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        request.chorus_language_menu = not fixed  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        if not fixed:
            # Caches must keep one copy per language the same URL can answer in.
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response
