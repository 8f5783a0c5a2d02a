"""Reads for the task flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    GuidelineVersion,
    ItemStatus,
    Response,
)
from annotate.roles import annotator_of, is_admin
from annotate.selectors.annotations import campaigns_visible_to


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


def assignments_visible_to(
    *, user: Any, campaign_slug: str = "", status: str = ""
) -> QuerySet[Assignment]:
    """Admins: every assignment. Researchers: those of campaigns they are granted.
    Annotators: their own. The campaign is joined (one query per page)."""
    if is_admin(user):
        qs = Assignment.objects.all()
    else:
        scope = Q(campaign_id__in=campaigns_visible_to(user).values("pk"))
        annotator = annotator_of(user)
        if annotator is not None:
            scope |= Q(annotator=annotator)
        qs = Assignment.objects.filter(scope)
    if campaign_slug:
        qs = qs.filter(campaign__slug=campaign_slug)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("campaign")


def assignment_visible_to(*, user: Any, assignment_id: int) -> Assignment | None:
    return assignments_visible_to(user=user).filter(pk=assignment_id).first()
