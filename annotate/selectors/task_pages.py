"""Reads for the annotator task pages, shaped for a small, fixed number of queries.

A task page costs one query for the assignment (with item and campaign), one for the
responses (with their prompt), and the annotator's own progress; the campaign-wide
progress figures and the current guideline come from a short-lived cache (they change
slowly, and a few seconds of staleness on a progress bar is harmless).
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count, Q, Sum

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    ItemStatus,
    Response,
)
from annotate.selectors.assignments import TaskView
from annotate.selectors.guidelines import guideline_current
from annotate.services.errors import NotFound

CACHE_SECONDS = 10
__all__ = ["assignment_for_annotator", "guideline_current", "task_progress", "task_view_build"]


def assignment_for_annotator(*, assignment_id: int, annotator: Annotator) -> Assignment:
    """The annotator's own assignment with item and campaign; NotFound otherwise."""
    assignment = (
        Assignment.objects.select_related("item", "campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise NotFound("No such task.")
    return assignment


def task_view_build(
    *, assignment: Assignment, campaign: Campaign, responses: list[Response] | None = None
) -> TaskView:
    """A TaskView for an assignment whose item is loaded: one query for the responses
    with their prompt, none when the lease already read them (``responses``, in the
    order shown)."""
    if responses is None:
        order = list(assignment.presented_order)
        found = Response.objects.filter(pk__in=order).select_related("prompt")
        by_id = {r.pk: r for r in found}
        responses = [by_id[rid] for rid in order if rid in by_id]
    item = assignment.item
    if item.prompt_id and responses and responses[0].prompt_id == item.prompt_id:
        item.prompt = responses[0].prompt  # the responses answer the item's prompt
    assignment.campaign = campaign
    return TaskView(
        assignment=assignment, responses=responses, guideline=guideline_current(campaign=campaign)
    )


def task_progress(
    *, campaign: Campaign, annotator: Annotator, mine: dict[str, int] | None = None
) -> dict[str, int]:
    """Like campaign_progress, with the campaign totals cached for a few seconds;
    ``mine`` (done, skipped) when the caller already counted them (a lease does)."""
    key = f"chorus:progress:{campaign.pk}"
    totals = cache.get(key)
    if totals is None:
        raw = campaign.items.aggregate(
            items=Count("id"),
            open_items=Count("id", filter=Q(status=ItemStatus.OPEN)),
            labels=Sum("n_submitted"),
            target=Sum("overlap"),
        )
        totals = {k: int(v or 0) for k, v in raw.items()}
        cache.set(key, totals, CACHE_SECONDS)
    if mine is None:
        mine = Assignment.objects.filter(campaign=campaign, annotator=annotator).aggregate(
            done=Count("id", filter=Q(status=AssignmentStatus.SUBMITTED)),
            skipped=Count("id", filter=Q(status=AssignmentStatus.SKIPPED)),
        )
    return {**totals, **{k: int(v or 0) for k, v in mine.items()}}
