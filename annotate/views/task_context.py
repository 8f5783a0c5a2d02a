"""Template context for a task page: responses in shown order, typed values, shortcuts.

Kept apart from the views so the page and its error re-render build exactly the same
context (a failed submit shows the form again with what was typed).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from annotate.i18n.labels import CATEGORY_LABELS, attribute_label
from annotate.models import Campaign, GuidelineVersion, Role, TaskType
from annotate.selectors.assignments import TaskView

from .fragments import fragment

LETTERS = string.ascii_uppercase

_ = gettext_lazy

COMMON_SHORTCUTS = [
    ("Ctrl+Enter", _("Submit")),
    ("Esc", _("Leave a text field (then the letter shortcuts work)")),
    ("g", _("Show or hide the guidelines")),
    ("s", _("Skip this task (type a reason, then Enter)")),
    ("?", _("Show or hide this list")),
]
TYPE_SHORTCUTS: dict[str, list[tuple[str, Promise]]] = {
    TaskType.PAIRWISE: [
        ("a", _("A is better")),
        ("b", _("B is better")),
        ("t", _("Tie (equally good)")),
        ("1 / 2 / 3", _("Slightly / clearly / much better")),
        ("r", _("Write a reason")),
    ],
    TaskType.RANKING: [
        ("j / k", _("Next / previous response")),
        ("1-9", _("Give the focused response that rank (same number = tie)")),
        ("Alt+↑ / Alt+↓", _("Move the focused response up / down")),
        ("o", _("Rank all in the order shown")),
    ],
    TaskType.BWS: [
        ("j / k", _("Next / previous response")),
        ("b", _("The focused response is the best")),
        ("w", _("The focused response is the worst")),
    ],
    TaskType.RATING: [
        ("1-7", _("Rate the current question and go to the next")),
        ("← / →", _("Move a slider or choose a rating")),
        ("j / k", _("Next / previous question")),
    ],
    TaskType.EDIT: [
        ("e", _("Go to the editor")),
        ("x", _("Reset the text to the original")),
    ],
    TaskType.CRITIQUE: [
        ("h", _("Go to the response to select text (Shift+arrows)")),
        ("1-9", _("Mark the selected text with that category")),
        ("z", _("Remove the last highlight")),
        ("c", _("Write the critique")),
        ("u", _("Write a suggestion")),
    ],
}
STRENGTHS = [(1, _("Slightly better")), (2, _("Clearly better")), (3, _("Much better"))]
TASK_TITLES: dict[str, Promise] = {
    TaskType.PAIRWISE: _("Which response is better?"),
    TaskType.RANKING: _("Rank the responses, best first"),
    TaskType.BWS: _("Pick the best and the worst response"),
    TaskType.RATING: _("Rate the response"),
    TaskType.EDIT: _("Improve the response"),
    TaskType.CRITIQUE: _("Critique the response"),
}
# Suggested skip reasons (a datalist: the annotator may write their own). They are
# stored in English whatever the page's language, so reasons can be counted.
SKIP_REASONS = [
    _("I don't understand the prompt"),
    _("Offensive or upsetting content"),
    _("Not my area of knowledge"),
    _("The responses are broken or empty"),
]


def skip_reason_canonical(reason: str) -> str:
    """A suggested reason as typed in the active language -> its English original."""
    for suggestion in SKIP_REASONS:
        if reason.strip() == str(suggestion):
            with translation.override("en"):
                return str(suggestion)
    return reason


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


class _Blank(dict[str, Any]):
    """Errors or typed values of a task form, where a field without one reads as "".

    Templates look up ``errors.choice`` and ``values.reason`` for every field; a key
    missing from a plain dict sends Django's template engine down its slow path (three
    failed lookups, ``dir()`` of the value, an exception logged at debug level), about
    a dozen times per page (issue 14). Names of dict methods (``errors.items``) still
    miss, so the template reaches the method.
    """

    def __missing__(self, key: str) -> str:
        if hasattr(dict, key):
            raise KeyError(key)
        return ""


def _error_for(errors: Mapping[str, str], *prefixes: str) -> str:
    for key, message in errors.items():
        if any(key == p or key.startswith(p + ".") for p in prefixes):
            return message
    return ""


def _fill(translated: str, **values: Any) -> SafeString:
    """A translated sentence with its placeholders filled, values escaped: what
    ``{% blocktranslate with ... %}`` renders."""
    return mark_safe(translated % {k: conditional_escape(v) for k, v in values.items()})


def _likert_radios(field: str, scale: list[int], value: str) -> SafeString:
    """One Likert question's radio buttons. Built here rather than by a template loop:
    a rating page has responses x attributes x points of them, and the loop was a
    large share of a task page's render time (issue 14)."""
    return format_html_join(
        "\n",
        '<label class="likert-option"><input type="radio" name="{}" value="{}"{}> {}</label>',
        ((field, n, mark_safe(" checked") if str(n) == value else "", n) for n in scale),
    )


def _guidelines_html(guideline: GuidelineVersion | None) -> SafeString:
    """The guidelines panel. Versions are append-only, but the key holds every field
    shown, so an edited row could not show its old text."""
    if guideline is None:
        return fragment("annotate/tasks/_guidelines.html", None, guideline=None)
    # Shown in the campaign's own language: the newest version has no translation.
    fallback = guideline.language != translation.get_language()
    return fragment(
        "annotate/tasks/_guidelines.html",
        (guideline.pk, guideline.version, guideline.language, guideline.text, fallback),
        guideline=guideline,
        guideline_fallback=fallback,
    )


def task_context(
    view: TaskView,
    *,
    progress: Mapping[str, int] | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    notices: list[str] | None = None,
) -> dict[str, Any]:
    assignment = view.assignment
    item = assignment.item
    campaign: Campaign = assignment.campaign
    errors = _Blank(errors or {})
    # A QueryDict (a refused POST shown again) reads as its last value per field, as the
    # template's ``values.field`` lookup did.
    values = _Blank({key: values.get(key) for key in values} if values else {})
    task_type = item.task_type
    # Headings and rating questions are translated here once per page, not by a
    # blocktranslate per response and question (issue 14); the msgids are the ones the
    # templates had, so the catalogues still hold them.
    heading = gettext("Response %(label)s")
    responses = [
        {"id": r.pk, "label": label, "text": r.text, "heading": _fill(heading, label=label)}
        for label, r in (
            (LETTERS[i] if i < 26 else str(i + 1), r) for i, r in enumerate(view.responses)
        )
    ]
    messages = list(item.prompt.messages) if item.prompt else []
    context: dict[str, Any] = {
        "assignment": assignment,
        "item": item,
        "campaign": campaign,
        "task_type": task_type,
        "task_title": TASK_TITLES.get(task_type, _("Task")),
        "template_name": f"annotate/tasks/_{task_type}.html",
        "prompt_text": item.prompt.text if item.prompt else "",
        "history": [
            {**m, "role_label": _role_label(str(m.get("role", "")))} for m in messages[:-1]
        ],
        "responses": responses,
        "guideline": view.guideline,
        "guidelines_html": _guidelines_html(view.guideline),
        "submit_url": reverse("task_submit", args=[assignment.pk]),
        "skip_url": reverse("task_skip", args=[assignment.pk]),
        "skip_fields_html": fragment(
            "annotate/tasks/_skip_fields.html",
            errors["skip_reason"],
            keep=not errors["skip_reason"],
            error=errors["skip_reason"],
            skip_reasons=SKIP_REASONS,
        ),
        "progress": progress or {},
        "errors": errors,
        "values": values,
        "notices": notices or [],
        "shortcuts_html": fragment(
            "annotate/tasks/_shortcuts.html",
            task_type,
            shortcuts=TYPE_SHORTCUTS.get(task_type, []) + COMMON_SHORTCUTS,
        ),
        "lease_minutes": max(1, round(campaign.lease_seconds / 60)),
        "lease_seconds_left": max(
            0, int((assignment.lease_expires_at - timezone.now()).total_seconds())
        ),
    }
    if task_type == TaskType.PAIRWISE:
        # Empty on a first render (kept); a refused answer's errors and typed values
        # otherwise (rendered each time: the typed reason must not fill the memory).
        fields = ("choice", "strength", "reason")
        shown = tuple(errors[f] for f in fields) + tuple(str(values[f]) for f in fields)
        context["choice_html"] = fragment(
            "annotate/tasks/_pairwise_choice.html",
            shown,
            keep=not any(shown),
            errors=dict(zip(fields, shown[:3], strict=True)),
            values=dict(zip(fields, shown[3:], strict=True)),
            strengths=STRENGTHS,
        )
    elif task_type == TaskType.RANKING:
        context["cards"] = [
            {**r, "rank": str(values.get(f"rank_{r['id']}", "")), "field": f"rank_{r['id']}"}
            for r in responses
        ]
        context["rank_options"] = list(range(1, len(responses) + 1))
    elif task_type == TaskType.BWS:
        best, worst = str(values.get("best", "")), str(values.get("worst", ""))
        context["bws_cards"] = [
            {**r, "best": str(r["id"]) == best, "worst": str(r["id"]) == worst} for r in responses
        ]
    elif task_type == TaskType.RATING:
        low, high = campaign.rating_range
        context["rating_low"], context["rating_high"] = low, high
        context["likert"] = list(range(low, high + 1)) if high <= 10 else []
        question = (
            gettext(
                "%(attribute)s of response %(label)s (%(low)s = very poor, %(high)s = excellent)"
            )
            if context["likert"]
            else gettext("%(attribute)s of response %(label)s (%(low)s-%(high)s)")
        )
        context["rows"] = [
            {
                **r,
                "attrs": [
                    {
                        "name": attr,
                        "label": attribute_label(attr),
                        "question": _fill(
                            question,
                            attribute=attribute_label(attr),
                            label=r["label"],
                            low=low,
                            high=high,
                        ),
                        "field": f"rating_{r['id']}_{attr}",
                        "value": str(values.get(f"rating_{r['id']}_{attr}", "")),
                        "error": errors.get(f"ratings.{r['id']}.{attr}", ""),
                        "radios": _likert_radios(
                            f"rating_{r['id']}_{attr}",
                            context["likert"],
                            str(values.get(f"rating_{r['id']}_{attr}", "")),
                        ),
                    }
                    for attr in campaign.rating_attributes
                ],
            }
            for r in responses
        ]
    elif task_type in (TaskType.EDIT, TaskType.CRITIQUE):
        response = responses[0] if responses else {"id": "", "label": "A", "text": ""}
        context["response"] = response
        if task_type == TaskType.EDIT:
            edited = values.get("edited_text")
            context["edited_text"] = response["text"] if edited is None else edited
        else:
            context["categories"] = [
                {"key": str(n + 1), "name": name, "label": CATEGORY_LABELS.get(name, name)}
                for n, name in enumerate(campaign.critique_categories[:9])
            ]
            context["spans_json"] = values.get("spans") or "[]"
            context["span_error"] = _error_for(errors, "spans")
    return context
