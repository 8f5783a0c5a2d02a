"""Reads for guidelines: the newest version, in the language a page is shown in.

A guideline version is one text in several languages (one row per language, issue 17);
a language without a translation of the newest version shows the campaign's default
language (``Campaign.default_language``), never an older version.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.utils import translation

from annotate.models import Campaign, GuidelineVersion

# The current guideline is read on every task page and submit; a new version shows up
# within this many seconds.
# Per process (config.settings: CACHES["local"]): every page reads these.
local_cache = caches["local"]
CACHE_SECONDS = 10


def guideline_pick(
    rows: list[GuidelineVersion], *, language: str, default_language: str
) -> GuidelineVersion | None:
    """Of one version's rows, the one in ``language``, else the default language's,
    else any (a version always has its default text, unless the default changed)."""
    by_language = {row.language: row for row in rows}
    return (
        by_language.get(language)
        or by_language.get(default_language)
        or (rows[0] if rows else None)
    )


def guideline_latest(*, campaign: Campaign, language: str | None = None) -> GuidelineVersion | None:
    """The newest guideline version, in ``language`` if it has that translation, else in
    the campaign's default language (one query, uncached)."""
    # A version has at most one row per language: the first len(LANGUAGES) rows, newest
    # first, hold every row of the newest version.
    rows = list(campaign.guidelines.order_by("-version", "language")[: len(settings.LANGUAGES)])
    newest = [row for row in rows if row.version == rows[0].version] if rows else []
    return guideline_pick(
        newest,
        language=language or campaign.default_language,
        default_language=campaign.default_language,
    )


def guideline_languages(*, campaign: Campaign, version: int) -> list[str]:
    """The languages one guideline version is written in."""
    return sorted(campaign.guidelines.filter(version=version).values_list("language", flat=True))


def guideline_current(
    *, campaign: Campaign, language: str | None = None
) -> GuidelineVersion | None:
    """guideline_latest in the active language (default), cached for a few seconds."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    key = f"chorus:guideline:{campaign.pk}:{language}"
    found = local_cache.get(key)
    if found is None:
        latest = guideline_latest(campaign=campaign, language=language)
        found = latest if latest is not None else False
        local_cache.set(key, found, CACHE_SECONDS)
    return found or None
