"""Language tags of data (prompts, items, responses), checked and normalised.

A tag is BCP-47-ish: a 2-3 letter primary language subtag, then up to four subtags of
2-8 letters or digits (script, region, variant), at most 35 characters in all. That
covers the tags real preference data carries ("en", "pt-BR", "zh-Hant-TW", "es-419").
Chorus stores a tag in lower case with hyphens ("pt-BR" -> "pt-br", "zh_Hans" ->
"zh-hans"): the form of Django's settings.LANGUAGES, so an item's language and an
annotator's UI language compare equal without a mapping.

``und`` (BCP 47's own "undetermined") is the default: data that does not declare its
language. Nothing guesses a language from the text; analytics report ``und`` as its own
group, and live generation adds no language instruction for it.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import InputError

UNDETERMINED = "und"
MAX_LENGTH = 35  # Prompt/Item/Response.language max_length
_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,4}")
EXAMPLES = "en, fr, pt-BR or zh-Hans"


def language_tag(value: Any, *, field: str = "language") -> str:
    """``value`` as a stored language tag, or InputError saying what a tag looks like."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"Give a language tag such as {EXAMPLES}.")
    code = value.strip().lower().replace("_", "-")
    if len(code) > MAX_LENGTH or not _TAG.fullmatch(code):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InputError(field, f"{shown!r} is not a language tag (BCP 47, e.g. {EXAMPLES}).")
    return code


def language_tag_or_default(value: Any, *, default: str, field: str = "language") -> str:
    """An optional tag: None or "" gives ``default`` (already clean)."""
    if value is None or value == "":
        return default
    return language_tag(value, field=field)
