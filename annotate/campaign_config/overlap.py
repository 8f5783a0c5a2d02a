"""Adaptive overlap (``adaptive_overlap``), read by annotate/services/adaptive_overlap.py
and annotate/services/items.py (the overlap new items start with)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section

Rule = Literal["majority_share", "any_disagreement"]


class AdaptiveOverlap(Section):
    key = "adaptive_overlap"
    title = "Adaptive overlap"
    read_by = "annotate/services/adaptive_overlap.py, annotate/services/items.py"

    enabled: bool = Field(
        False,
        description="Ask for more annotators on items whose labels disagree (pairwise, "
        "ranking and rating items; not gold items or attention checks).",
    )
    base_overlap: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Annotators a new item starts with while this is on. Unset: the "
        "campaign's overlap.",
    )
    max_overlap: int = Field(
        5, ge=1, le=100, description="An item's overlap is never raised past this."
    )
    step: int = Field(
        1, ge=1, le=10, description="Annotators added each time an item's labels disagree."
    )
    rule: Rule = Field(
        "majority_share",
        description="When an item's labels disagree, checked each time all its slots are "
        "answered: majority_share: the most common answer has less than min_agreement of "
        "the labels; any_disagreement: the labels are not unanimous. The answer is the "
        "choice (pairwise), the best group (ranking), or the best-rated response (rating; "
        "with one response, above/at/below the scale's middle).",
    )
    min_agreement: float = Field(
        0.75, gt=0, le=1, description="majority_share: the share of labels that must agree."
    )

    def problems(self) -> dict[str, str]:
        if self.base_overlap is not None and self.base_overlap > self.max_overlap:
            return {"base_overlap": "must not exceed max_overlap"}
        return {}
