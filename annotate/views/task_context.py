"""Template context for a task page: responses in shown order, typed values, shortcuts.

Kept apart from the views so the page and its error re-render build exactly the same
context (a failed submit shows the form again with what was typed).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from annotate.models import Campaign, TaskType
from annotate.selectors.assignments import TaskView

LETTERS = string.ascii_uppercase

COMMON_SHORTCUTS = [
    ("Ctrl+Enter", "Submit"),
    ("Esc", "Leave a text field (then the letter shortcuts work)"),
    ("g", "Show or hide the guidelines"),
    ("s", "Skip this task (type a reason, then Enter)"),
    ("?", "Show or hide this list"),
]
TYPE_SHORTCUTS: dict[str, list[tuple[str, str]]] = {
    TaskType.PAIRWISE: [
        ("a", "A is better"),
        ("b", "B is better"),
        ("t", "Tie (equally good)"),
        ("1 / 2 / 3", "Slightly / clearly / much better"),
        ("r", "Write a reason"),
    ],
    TaskType.RANKING: [
        ("j / k", "Next / previous response"),
        ("1-9", "Give the focused response that rank (same number = tie)"),
        ("Alt+↑ / Alt+↓", "Move the focused response up / down"),
        ("o", "Rank all in the order shown"),
    ],
    TaskType.RATING: [
        ("1-7", "Rate the current question and go to the next"),
        ("← / →", "Move a slider or choose a rating"),
        ("j / k", "Next / previous question"),
    ],
    TaskType.EDIT: [
        ("e", "Go to the editor"),
        ("x", "Reset the text to the original"),
    ],
    TaskType.CRITIQUE: [
        ("h", "Go to the response to select text (Shift+arrows)"),
        ("1-9", "Mark the selected text with that category"),
        ("z", "Remove the last highlight"),
        ("c", "Write the critique"),
        ("u", "Write a suggestion"),
    ],
}
STRENGTHS = [(1, "Slightly better"), (2, "Clearly better"), (3, "Much better")]
TASK_TITLES: dict[str, str] = {
    TaskType.PAIRWISE: "Which response is better?",
    TaskType.RANKING: "Rank the responses, best first",
    TaskType.RATING: "Rate the response",
    TaskType.EDIT: "Improve the response",
    TaskType.CRITIQUE: "Critique the response",
}


def _error_for(errors: Mapping[str, str], *prefixes: str) -> str:
    for key, message in errors.items():
        if any(key == p or key.startswith(p + ".") for p in prefixes):
            return message
    return ""


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
        "task_title": TASK_TITLES.get(task_type, "Task"),
        "template_name": f"annotate/tasks/_{task_type}.html",
        "prompt_text": item.prompt.text if item.prompt else "",
        "history": messages[:-1],
        "responses": responses,
        "guideline": view.guideline,
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
                        "field": f"rating_{r['id']}_{attr}",
                        "value": str(values.get(f"rating_{r['id']}_{attr}", "")),
                        "error": errors.get(f"ratings.{r['id']}.{attr}", ""),
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
                {"key": str(n + 1), "name": name}
                for n, name in enumerate(campaign.critique_categories[:9])
            ]
            context["spans_json"] = values.get("spans") or "[]"
            context["span_error"] = _error_for(errors, "spans")
    return context
