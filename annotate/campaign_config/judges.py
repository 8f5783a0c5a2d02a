"""AI judges (``config["judges"]``, issue 16), read by annotate/services/judge_labels.py
and modelserve/generation/judging.py. The judges themselves (endpoint, prompts) are rows
(annotate.models.Judge), edited in the admin; these keys say how they are run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section

JudgeTaskType = Literal["pairwise", "ranking", "rating"]


def _all_task_types() -> list[JudgeTaskType]:
    return ["pairwise", "ranking", "rating"]


class Judges(Section):
    key = "judges"
    title = "AI judges"
    read_by = "annotate/services/judge_labels.py"

    inconsistent_policy: Literal["drop", "tie", "first"] = Field(
        "drop",
        description="What a pairwise item judged differently in its two orders (AB, BA) "
        'counts as: "drop" (no AI label: only consistent verdicts count), "tie", or '
        '"first" (the verdict of the AB order). A judge may override it.',
    )
    task_types: list[JudgeTaskType] = Field(
        default_factory=_all_task_types,
        max_length=3,
        description="Task types the judges label (pairwise, ranking, rating).",
    )
    limit: int = Field(
        200,
        ge=1,
        le=100_000,
        description="Most items one judging job labels per judge (manage.py judge --limit "
        "overrides it).",
    )
    max_new_tokens: int = Field(
        16,
        ge=1,
        le=1024,
        description="Tokens a judge may write per answer: the answer format is a few "
        "tokens ([[A]], [[5]]); more lets a judge reason first.",
    )
    temperature: float = Field(
        0.0, ge=0, le=2, description="Sampling temperature of judge calls (0: greedy)."
    )
    batch_size: int = Field(
        8, ge=1, le=256, description="Judge questions sent to the model in one batched call."
    )
