"""Template context for a task page: responses in shown order, typed values, shortcuts.

Kept apart from the views so the page and its error re-render build exactly the same
context (a failed submit shows the form again with what was typed).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from annotate.i18n.labels import CATEGORY_LABELS, attribute_label
from annotate.models import Campaign, Role, TaskType
from annotate.selectors.assignments import TaskView

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


def _error_for(errors: Mapping[str, str], *prefixes: str) -> str:
    for key, message in errors.items():
        if any(key == p or key.startswith(p + ".") for p in prefixes):
            return message
    return ""


def _likert_radios(field: str, scale: list[int], value: str) -> SafeString:
    """One Likert question's radio buttons. Built here rather than by a template loop:
    a rating page has responses x attributes x points of them, and the loop was a
    large share of a task page's render time (issue 14)."""
    return format_html_join(
        "\n",
        '<label class="likert-option"><input type="radio" name="{}" value="{}"{}> {}</label>',
        ((field, n, mark_safe(" checked") if str(n) == value else "", n) for n in scale),
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
    errors = dict(errors or {})
    values = values or {}
    task_type = item.task_type
    responses = [
        {"id": r.pk, "label": LETTERS[i] if i < 26 else str(i + 1), "text": r.text}
        for i, r in enumerate(view.responses)
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
        # Shown in the campaign's own language: the newest version has no translation.
        "guideline_fallback": view.guideline is not None
        and view.guideline.language != translation.get_language(),
        "skip_reasons": SKIP_REASONS,
        "progress": progress or {},
        "errors": errors,
        "values": values,
        "notices": notices or [],
        "shortcuts": TYPE_SHORTCUTS.get(task_type, []) + COMMON_SHORTCUTS,
        "lease_minutes": max(1, round(campaign.lease_seconds / 60)),
        "lease_seconds_left": max(
            0, int((assignment.lease_expires_at - timezone.now()).total_seconds())
        ),
    }
    if task_type == TaskType.PAIRWISE:
        context["strengths"] = STRENGTHS
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
        context["rows"] = [
            {
                **r,
                "attrs": [
                    {
                        "name": attr,
                        "label": attribute_label(attr),
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
