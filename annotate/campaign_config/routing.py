"""Routing items to humans or the AI judge (``config["routing"]``, issue 16), read by
annotate/services/routing.py (the plan) and annotate/services/assignments.py (the queue).

While routing is enabled the human queue serves only items the newest plan routed to
humans (highest predicted gain first), plus gold items and attention checks; items routed
to the judge never reach a person, so at most ``human_budget`` items get human labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from .base import Section


class Routing(Section):
    key = "routing"
    title = "Routing to humans or AI"
    read_by = "annotate/services/routing.py"

    enabled: bool = Field(
        False,
        description="Route items between people and the judge: the human queue serves only "
        "items routed to humans (gold and attention checks aside).",
    )
    human_budget: int = Field(
        0,
        ge=0,
        le=10_000_000,
        description="Items people may label (each up to its overlap), counting items "
        "already labelled or leased.",
    )
    every_minutes: int = Field(
        30, ge=1, le=525_600, description="Beat recomputes the plan when it is this old."
    )
    model: Literal["auto", "ridge", "lightgbm"] = Field(
        "auto",
        description="Gain model: ridge, LightGBM (if installed), or auto (LightGBM from "
        "200 training items when installed).",
    )
    min_gain: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Items predicted to gain no more than this go to the judge even with "
        "budget left; null: spend the whole budget.",
    )
    judge_routed: bool = Field(
        True, description="Start the judge on items routed to AI that it has not labelled."
    )


def routing_enabled(config: Mapping[str, Any] | None) -> bool:
    """The one check the lease path makes per request: cheaper than validating the section
    (every writer validated the stored config already)."""
    section = (config or {}).get("routing")
    return isinstance(section, Mapping) and section.get("enabled") is True
