"""Model replies as Markdown, rendered safely: no raw HTML ever reaches the page.

Two layers, both needed: markdown-it-py with HTML disabled turns ``<script>`` in a reply
into visible text, and nh3 (ammonia) then keeps only an allow-list of tags, attributes
and URL schemes, so a ``javascript:`` link or an ``onerror`` attribute from a crafted
Markdown construct cannot survive either. Used for model replies on the conversation page
and in the task pages that show responses; the edit task keeps the raw text (annotators
edit the exact characters).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
    "del", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> Any:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
        ["table", "strikethrough"]
    )


# Replies repeat: every annotator of an item, and every item of a prompt, shows the same
# texts. Parsing and cleaning cost ~0.1-0.3 ms each on every task page (issue 14), so the
# results of short texts are kept per process (at most ~2,048 x 8 KB of keys).
CACHED_TEXT_CHARS = 8192


def markdown_to_html(text: str) -> str:
    """Sanitised HTML for a model reply (an empty string for an empty reply)."""
    if not text:
        return ""
    if len(text) <= CACHED_TEXT_CHARS:
        return _markdown_cached(text)
    return _markdown(text)


@lru_cache(maxsize=2048)
def _markdown_cached(text: str) -> str:
    return _markdown(text)


def _markdown(text: str) -> str:
    rendered = _parser().render(text)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> SafeString:
    return mark_safe(markdown_to_html(text or ""))  # sanitised by nh3 above


_TAG = re.compile(r"<[^>]*>")


def has_visible_text(text: str) -> bool:
    """Whether a reply shows any text once rendered. A reply of "-", "#", "---" or an
    empty code fence renders as an empty list item, heading, rule or block: nothing an
    annotator can read or judge (a small model does end a reply that way now and then)."""
    return bool(html.unescape(_TAG.sub("", markdown_to_html(text))).strip())
