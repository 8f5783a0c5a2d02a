"""Template context of every page: the language menu and the scripts' sentences.

Both are the same for everyone who reads a page in a given language, so they are built
once per language and process (issue 14), not at every page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.html import json_script
from django.utils.safestring import SafeString

from annotate.views.fragments import fragment

from .js_catalog import js_catalog


@lru_cache(maxsize=64)
def _js_i18n(language: str) -> SafeString:
    with translation.override(language):
        return json_script(js_catalog(), "chorus-i18n")


def ui_language(request: HttpRequest) -> dict[str, Any]:
    # English-only pages (admin, dashboard, research) get no menu: it could change nothing.
    if not getattr(request, "chorus_language_menu", False):
        return {"language_menu": None, "js_i18n": ""}
    current = translation.get_language()
    languages = [
        {"code": code, "name": name, "current": code == current}
        for code, name in settings.LANGUAGES
    ]
    return {
        "language_menu": {
            "summary": fragment("_language_menu_summary.html", None, languages=languages),
            "choices": fragment("_language_menu_choices.html", None, languages=languages),
            "action": reverse("language_switch"),
        },
        "js_i18n": _js_i18n(current),
    }
