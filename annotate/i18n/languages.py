"""The UI languages: settings.LANGUAGES, matched the way Django matches them."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

# Where the annotator's preference is remembered in the session, so a request never
# pays a query for it (filled at log-in and whenever the preference changes).
SESSION_KEY = "chorus_ui_language"


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_supported(code: str | None) -> str | None:
    """The configured language a code stands for ("fr-CA" -> "fr", "zh-CN" ->
    "zh-hans"), or None when it names none of them."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(
            str(code).strip().lower().replace("_", "-")
        )
    except LookupError:
        return None


def language_name(code: str) -> str:
    """A language's name in that language (the menu's label)."""
    return dict(settings.LANGUAGES).get(code, code)


def language_is_rtl(code: str) -> bool:
    return code.split("-")[0] in settings.LANGUAGES_BIDI


def ui_language_choices() -> list[tuple[str, str]]:
    """The profile's language choices: follow the browser, or one of the languages."""
    return [("", gettext("Same as my browser")), *settings.LANGUAGES]
