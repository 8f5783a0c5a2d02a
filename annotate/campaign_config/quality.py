"""Quality control keys (top level), read by annotate/services/quality.py."""

from __future__ import annotations

from pydantic import Field

from .base import Rate, Section


class Quality(Section):
    title = "Quality control"
    read_by = "annotate/services/quality.py"
    admin_keys = ("min_seconds", "gold_rate", "attention_rate", "max_gold_failures")

    min_seconds: float = Field(
        0,
        ge=0,
        le=3600,
        description="A submit faster than this many seconds is flagged too_fast (kept, shown "
        "to admins) and the annotator is told. 0: no check.",
    )
    gold_rate: Rate = Field(
        0,
        description="Probability that a lease is served from the campaign's gold items "
        "(Item.is_gold) while one is left for the annotator.",
    )
    attention_rate: Rate = Field(
        0, description="The same for attention checks (Item.is_attention_check)."
    )
    max_gold_failures: int = Field(
        0,
        ge=0,
        le=10_000,
        description="After this many failed gold items or attention checks the annotator "
        "is paused. 0: never.",
    )
