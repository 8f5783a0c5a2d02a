"""Judge prompts: the default instructions per task type, and rendering one into chat
messages for an item (issue 16). Pure: takes texts, returns messages.

Answers are constrained so ``annotate.analytics.judge_parse`` can read them: pairwise
A, B or tie (a bare letter; [[A]] also parses); rating [[n]] with low <= n <= high;
ranking [[2, 1, 3]] (the response numbers best first). Small models (SmolLM2-135M)
follow a short instruction that ends with the exact answer format better than a long
rubric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_SYSTEM = "You are a fair and careful judge of AI assistant responses."

DEFAULT_TEMPLATES: dict[str, str] = {
    # The question comes last and asks for a bare letter: SmolLM2-135M answered the
    # bracketed form ("Reply with only [[A]] ...") with prose that named no verdict on
    # every e2e item, and answers this one with "A" or "B" (the parser reads either form).
    "pairwise": (
        "[Question]\n{prompt}\n\n"
        "[Response A]\n{response_a}\n\n"
        "[Response B]\n{response_b}\n\n"
        "Which response answers the question better? Answer with one letter, A or B, "
        "or with tie if they are equally good."
    ),
    "rating": (
        "Rate how well the response answers the user's question, from {low} (very bad) "
        "to {high} (excellent).\n\n"
        "[Question]\n{prompt}\n\n"
        "[Response]\n{response}\n\n"
        "Reply with only the number in double brackets, e.g. [[{high}]]."
    ),
    "ranking": (
        "Rank the {n} responses from best to worst.\n\n"
        "[Question]\n{prompt}\n\n"
        "{responses}\n\n"
        "Reply with only the response numbers, best first, in double brackets, "
        "e.g. [[{example}]]."
    ),
}

# Texts are cut so a long conversation cannot push the answer format out of a small
# model's context window (characters, not tokens; about 4 characters per token).
MAX_TEXT_CHARS = 2000


class TemplateError(ValueError):
    """A template with an unknown placeholder or broken braces."""


def _cut(text: str) -> str:
    text = text or ""
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " [...]"


def render(template: str, values: dict[str, Any]) -> str:
    """``template.format(**values)`` with a clear error instead of a KeyError."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(f"bad judge template: {exc!r}") from None


def template_check(task_type: str, template: str) -> None:
    """Refuse a template that cannot be rendered for its task type (admin and service)."""
    sample = {
        "prompt": "q",
        "response_a": "a",
        "response_b": "b",
        "response": "r",
        "low": 1,
        "high": 7,
        "n": 3,
        "responses": "x",
        "example": "1, 2, 3",
    }
    if task_type not in DEFAULT_TEMPLATES:
        raise TemplateError(f"judges label pairwise, ranking or rating items, not {task_type!r}")
    render(template, sample)


def messages_for(system: str, user: str) -> list[dict[str, str]]:
    out = [{"role": "system", "content": system}] if system.strip() else []
    return [*out, {"role": "user", "content": user}]


def pairwise_messages(
    *, system: str, template: str, prompt: str, first: str, second: str
) -> list[dict[str, str]]:
    """``first`` is shown as A; the caller swaps the texts for the BA order."""
    user = render(
        template, {"prompt": _cut(prompt), "response_a": _cut(first), "response_b": _cut(second)}
    )
    return messages_for(system, user)


def rating_messages(
    *, system: str, template: str, prompt: str, response: str, low: int, high: int
) -> list[dict[str, str]]:
    user = render(
        template, {"prompt": _cut(prompt), "response": _cut(response), "low": low, "high": high}
    )
    return messages_for(system, user)


def ranking_messages(
    *, system: str, template: str, prompt: str, responses: Sequence[str]
) -> list[dict[str, str]]:
    listed = "\n\n".join(f"[Response {i}]\n{_cut(t)}" for i, t in enumerate(responses, start=1))
    example = ", ".join(str(i) for i in range(1, len(responses) + 1))
    user = render(
        template,
        {"prompt": _cut(prompt), "responses": listed, "n": len(responses), "example": example},
    )
    return messages_for(system, user)
