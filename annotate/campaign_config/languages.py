"""Languages (top level), read by Campaign.default_language (issue 17): guidelines and
the consent are written in the default language first; other languages are translations."""

from __future__ import annotations

from pydantic import Field

from .base import LanguageCode, Section


class Languages(Section):
    title = "Languages"
    read_by = "annotate/models/campaign.py (Campaign.default_language)"

    default_language: LanguageCode | None = Field(
        None,
        description="The language guidelines and consent are written in first (one of the "
        "site's languages); unset: the site's (LANGUAGE_CODE).",
    )
