"""Parts of a page that are the same for everyone who sees them: rendered once per process.

A task page is rendered at every task, and much of it never changes between two
renders: the keyboard shortcuts of a task type, the guidelines of a version, the skip
reasons, the pairwise choice buttons of an empty form, the language menu. Rendering them
with the template engine was about a third of a task page's render time (issue 14).

``fragment(template, key, **context)`` renders ``template`` with ``context`` in the active
language and keeps the result under (template, language, key), a bounded LRU per
process. ``context`` must be a function of ``key`` (the caller's promise: pass what the
key names, or what is derived from it, e.g. a task type's shortcut list for the task
type). It is rendered without the request, so it cannot reach the user, the session or
the CSRF token: what is kept holds nothing of one person that another could be shown.
Under DEBUG nothing is kept, so an edited template shows at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

MAX_FRAGMENTS = 4096

_kept: OrderedDict[tuple[Any, ...], SafeString] = OrderedDict()
_lock = threading.Lock()


def fragment(template_name: str, key: Hashable, *, keep: bool = True, **context: Any) -> SafeString:
    """``template_name`` rendered with ``context``, kept under ``key`` (see module doc).
    ``keep=False`` renders without keeping: for a key that holds what someone typed,
    which would let one person fill the memory of every process."""
    cache_key = (template_name, translation.get_language(), key)
    keep = keep and not settings.DEBUG
    if keep:
        with _lock:
            html = _kept.get(cache_key)
            if html is not None:
                _kept.move_to_end(cache_key)
                return html
    html = mark_safe(render_to_string(template_name, context))
    if keep:
        with _lock:
            _kept[cache_key] = html
            if len(_kept) > MAX_FRAGMENTS:
                _kept.popitem(last=False)
    return html


def forget_fragments() -> None:
    """Drop every kept fragment (tests that change translations or templates)."""
    with _lock:
        _kept.clear()
