"""Analytics options (``config["analytics"]``), read by annotate/selectors/analytics.py."""

from __future__ import annotations

from pydantic import Field

from .base import CategoryField, Section


class Analytics(Section):
    key = "analytics"
    title = "Analytics"
    read_by = "annotate/selectors/analytics.py"

    group_fields: list[CategoryField] = Field(
        default_factory=lambda: ["age_band", "gender", "residence_country"],
        max_length=10,
        description="Profile fields agreement and leaderboards are broken down by.",
    )
    n_boot: int = Field(200, ge=0, le=2000, description="Bootstrap resamples of intervals.")
    max_cases: int = Field(
        500, ge=0, le=5000, description="Inconsistent cases kept for the drill-down."
    )
