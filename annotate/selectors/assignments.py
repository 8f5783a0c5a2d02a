"""Reads for the task flow."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    GuidelineVersion,
    ItemStatus,
    Response,
)


@dataclass(frozen=True)
class TaskView:
    """Everything a task page shows, with responses in the order this annotator sees."""

    assignment: Assignment
    responses: list[Response]
    guideline: GuidelineVersion | None


def campaign_progress(*, campaign: Campaign, annotator: Annotator | None = None) -> dict[str, int]:
    """Counts for progress bars: done by this annotator, and the campaign's totals."""
    totals = campaign.items.aggregate(
        items=Count("id"),
        open_items=Count("id", filter=Q(status=ItemStatus.OPEN)),
        labels=Sum("n_submitted"),
        target=Sum("overlap"),
    )
    out = {key: int(value or 0) for key, value in totals.items()}
    if annotator is not None:
        mine = Assignment.objects.filter(campaign=campaign, annotator=annotator).aggregate(
            done=Count("id", filter=Q(status=AssignmentStatus.SUBMITTED)),
            skipped=Count("id", filter=Q(status=AssignmentStatus.SKIPPED)),
        )
        out.update(mine)
    return out
