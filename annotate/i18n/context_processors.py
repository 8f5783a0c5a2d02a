"""Template context of every page: the language menu and the scripts' sentences."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from .js_catalog import js_catalog


def ui_language(request: HttpRequest) -> dict[str, Any]:
    # English-only pages (admin, dashboard, research) get no menu: it could change nothing.
    if not getattr(request, "chorus_language_menu", False):
        return {"language_menu": [], "js_i18n": {}}
    current = translation.get_language()
    return {
        "language_menu": [
            {"code": code, "name": name, "current": code == current}
            for code, name in settings.LANGUAGES
        ],
        "js_i18n": js_catalog(),
    }
