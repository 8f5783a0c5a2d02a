"""Texts written in several languages (guidelines, consent): checking what admins send.

Pure functions: the admin, the REST API and the services all apply the same rules, so a
bad language code is a form error or a 400 that names it, never a stored row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .languages import language_codes


class TextsError(ValueError):
    """What is wrong with a set of per-language texts (a sentence for the admin)."""


def language_code_clean(value: Any, *, field: str = "language") -> str:
    """A configured language code as written in settings.LANGUAGES ("zh-Hans" and
    "zh_hans" both give "zh-hans")."""
    if not isinstance(value, str) or not value.strip():
        raise TextsError(f"{field}: give a language code, one of {', '.join(language_codes())}.")
    code = value.strip().lower().replace("_", "-")
    if code not in language_codes():
        raise TextsError(
            f"{field}: {value!r} is not one of the site's languages "
            f"({', '.join(language_codes())})."
        )
    return code


def texts_by_language_clean(
    value: Any, *, default_language: str, field: str = "texts", require_default: bool = True
) -> dict[str, str]:
    """{language: text} with known language codes and non-empty texts.

    ``require_default``: the default language's text must be there (it is what every
    language without its own text falls back to).
    """
    if not isinstance(value, Mapping):
        raise TextsError(f"{field}: give an object mapping language codes to texts.")
    out: dict[str, str] = {}
    for raw_code, text in value.items():
        code = language_code_clean(raw_code, field=f"{field} key")
        if not isinstance(text, str) or not text.strip():
            raise TextsError(f"{field}.{code}: the text is empty.")
        if code in out:
            raise TextsError(f"{field}: {code} is given twice.")
        out[code] = text
    if require_default and default_language not in out:
        raise TextsError(
            f"{field}: the text in the default language ({default_language}) is missing."
        )
    return out


def campaign_language_config_clean(config: Mapping[str, Any]) -> None:
    """Check the language keys of a campaign's config (``default_language`` and the
    per-language consent texts ``consent.texts``); raises TextsError."""
    default = config.get("default_language")
    if default is not None:
        default = language_code_clean(default, field="config.default_language")
    consent = config.get("consent")
    if consent is not None and not isinstance(consent, Mapping):
        raise TextsError("config.consent: give an object with version, text and texts.")
    if isinstance(consent, Mapping) and consent.get("texts") is not None:
        texts_by_language_clean(
            consent["texts"],
            default_language=default or "",
            field="config.consent.texts",
            require_default=False,
        )
