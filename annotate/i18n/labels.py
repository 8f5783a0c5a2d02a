"""Names that campaigns configure but annotators read: the built-in ones, translated.

A campaign's own attribute or category names are shown as they were written; only the
names Chorus itself offers (annotate.models.choices) have translations. Also the notice
a generation backend stores in English when it had to shorten a conversation.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

_ = gettext_lazy

# Names of the built-in rating attributes and critique categories as annotators read
# them; a campaign's own names are shown as they were written.
ATTRIBUTE_LABELS: dict[str, Promise] = {
    "overall": _("Overall quality"),
    "helpfulness": _("Helpfulness"),
    "correctness": _("Correctness"),
    "factuality": _("Factuality"),
    "coherence": _("Coherence"),
    "verbosity": _("Verbosity"),
    "safety": _("Safety"),
    "creativity": _("Creativity"),
    "fluency": _("Fluency"),
    "values": _("Values"),
    "diversity": _("Diversity of views"),
    "personalisation": _("Personalisation"),
}
CATEGORY_LABELS: dict[str, Promise] = {
    "factual error": _("factual error"),
    "unsafe": _("unsafe"),
    "unhelpful": _("unhelpful"),
    "style": _("style"),
    "other": _("other"),
}


def attribute_label(name: str) -> str:
    label = ATTRIBUTE_LABELS.get(name)
    return str(label) if label is not None else name[:1].upper() + name[1:]


def attribute_labels(names: list[str]) -> list[tuple[str, str]]:
    return [(name, attribute_label(name)) for name in names]


# modelserve.backends.local.context_notice writes this sentence in the worker.
_CONTEXT_NOTICE = re.compile(
    r"The conversation was longer than the model's context of (\d+) tokens: its "
    r"oldest (\d+) tokens were left out\."
)


def generation_notice(notice: str) -> str:
    """A backend's stored notice in the active language (others are shown as stored)."""
    found = _CONTEXT_NOTICE.fullmatch(notice.strip())
    if found is None:
        return notice
    return gettext(
        "The conversation was longer than the model's context of %(limit)s tokens: its "
        "oldest %(dropped)s tokens were left out."
    ) % {"limit": found.group(1), "dropped": found.group(2)}
