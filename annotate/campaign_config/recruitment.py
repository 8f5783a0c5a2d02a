"""Eligibility and demographic quotas (top level), read by annotate/services/eligibility.py
and annotate/selectors/analytics.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import CategoryField, Part, ProfileField, Section

CELL_SEPARATOR = "|"
Value = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Quotas(Part):
    fields: list[ProfileField] = Field(
        ...,
        min_length=1,
        max_length=5,
        description="Profile fields whose values, joined by |, name a cell.",
    )
    cells: dict[Value, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description='{"GB|25-34": 10}: participants each cell admits; an unlisted cell '
        "admits nobody.",
    )

    def problems(self) -> dict[str, str]:
        n = len(self.fields)
        for cell in self.cells:
            if len(cell.split(CELL_SEPARATOR)) != n:
                return {
                    f"cells.{cell}": f"a cell names {n} value(s) joined by "
                    f"{CELL_SEPARATOR!r}, one per field of quotas.fields"
                }
        return {}


class Recruitment(Section):
    title = "Eligibility and quotas"
    read_by = "annotate/services/eligibility.py"

    eligibility: dict[CategoryField, Annotated[list[Value], Field(min_length=1)]] = Field(
        default_factory=dict,
        description='{profile field: [allowed values]}, e.g. {"residence_country": '
        '["GB", "US"]}; a participant with another value is not eligible.',
    )
    quotas: Quotas | None = Field(
        None,
        description="{fields, cells}: demographic targets; a full cell stops admitting new "
        "participants.",
    )

    def problems(self) -> dict[str, str]:
        if self.quotas is None:
            return {}
        return {f"quotas.{k}": v for k, v in self.quotas.problems().items()}
