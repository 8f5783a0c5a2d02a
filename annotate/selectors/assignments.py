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
from annotate.services.errors import NotFound


@dataclass(frozen=True)
class TaskView:
    """Everything a task page shows, with responses in the order this annotator sees."""

    assignment: Assignment
    responses: list[Response]
    guideline: GuidelineVersion | None


def assignment_get_for_annotator(*, assignment_id: int, annotator: Annotator) -> TaskView:
    """Raises NotFound for an unknown id or someone else's assignment (same answer)."""
    assignment = (
        Assignment.objects.select_related("item", "item__prompt", "campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise NotFound("No such task.")
    by_id = {r.pk: r for r in Response.objects.filter(pk__in=assignment.presented_order)}
    responses = [by_id[rid] for rid in assignment.presented_order if rid in by_id]
    guideline = assignment.campaign.guidelines.order_by("-version").first()
    return TaskView(assignment=assignment, responses=responses, guideline=guideline)


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
