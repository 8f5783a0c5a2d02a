"""Reads for the annotator task pages, shaped for a small, fixed number of queries.

A task page costs one query for the assignment (with item and campaign), one for the
responses (with their prompt), and the annotator's own progress; the campaign-wide
progress figures and the current guideline come from a short-lived cache (they change
slowly, and a few seconds of staleness on a progress bar is harmless).
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import caches
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    Item,
    ItemResponse,
    ItemStatus,
    Prompt,
    Response,
)
from annotate.selectors.assignments import TaskView
from annotate.selectors.guidelines import guideline_current
from annotate.selectors.sql_rows import (
    cache_related,
    columns,
    fetch_all,
    fetch_one,
    lock_clause,
    placeholders,
    table,
)
from annotate.services.errors import NotFound

# Per process (config.settings: CACHES["local"]): every page reads these.
local_cache = caches["local"]
CACHE_SECONDS = 10
__all__ = ["assignment_for_annotator", "guideline_current", "task_progress", "task_view_build"]


def assignment_for_annotator(
    *, assignment_id: int, annotator: Annotator, lock: bool = False
) -> Assignment:
    """The annotator's own assignment with item and campaign; NotFound otherwise (someone
    else's assignment looks exactly like a missing one). With ``lock`` (a submit, in its
    transaction) it also reads the annotator's row and locks it and the assignment's.

    Hand-written SQL (annotate.selectors.sql_rows): every task page and every submit runs
    it, and the ORM spent ~2 ms of CPU building and compiling it under load (issue 14).
    """
    shapes = [columns(Assignment), columns(Item), columns(Campaign)]
    if lock:
        shapes.append(columns(Annotator))
    select = ", ".join(shape.select(alias) for shape, alias in zip(shapes, "aicn", strict=False))
    sql = (
        f"SELECT {select} FROM {table(Assignment)} a "
        f"JOIN {table(Item)} i ON i.id = a.item_id "
        f"JOIN {table(Campaign)} c ON c.id = a.campaign_id "
        + (f"JOIN {table(Annotator)} n ON n.id = a.annotator_id " if lock else "")
        + "WHERE a.id = %s AND a.annotator_id = %s"
        + (lock_clause("a", "n") if lock else "")
    )
    found = fetch_one(sql, [assignment_id, annotator.pk], shapes)
    if found is None:
        raise NotFound(gettext("No such task."))
    assignment, item, campaign = found[:3]
    cache_related(assignment, "item", item)
    cache_related(item, "campaign", campaign)
    cache_related(assignment, "campaign", campaign)
    if lock:
        cache_related(assignment, "annotator", found[3])
    return assignment


def annotator_task_counts(
    *, annotator: Annotator, campaign: Campaign, now: datetime
) -> tuple[int, int, int | None]:
    """The annotator's submitted and skipped tasks in the campaign, and the id of the
    lease they still hold at ``now`` (None). Hand-written SQL: every submit and task page
    runs it, and the ORM's aggregate cost more CPU to build than PostgreSQL spent on it
    (issue 14)."""
    sql = (
        "SELECT COUNT(*) FILTER (WHERE status = %s), COUNT(*) FILTER (WHERE status = %s), "
        "MIN(id) FILTER (WHERE status = %s AND lease_expires_at > %s) "
        f"FROM {table(Assignment)} WHERE annotator_id = %s AND campaign_id = %s"
    )
    params = [
        AssignmentStatus.SUBMITTED.value,
        AssignmentStatus.SKIPPED.value,
        AssignmentStatus.ACTIVE.value,
        connection.ops.adapt_datetimefield_value(now),
        annotator.pk,
        campaign.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        done, skipped, current = cursor.fetchone()
    return int(done or 0), int(skipped or 0), current


def responses_with_prompts(response_ids: list[int]) -> list[Response]:
    """The responses with their prompt loaded, in no particular order (hand-written SQL,
    as assignment_for_annotator's)."""
    if not response_ids:
        return []
    shapes = [columns(Response), columns(Prompt)]
    sql = (
        f"SELECT {shapes[0].select('r')}, {shapes[1].select('p')} FROM {table(Response)} r "
        f"JOIN {table(Prompt)} p ON p.id = r.prompt_id "
        f"WHERE r.id IN ({placeholders(len(response_ids))})"
    )
    found = []
    for response, prompt in fetch_all(sql, response_ids, shapes):
        cache_related(response, "prompt", prompt)
        found.append(response)
    return found


def item_responses_with_prompts(item_id: int) -> list[ItemResponse]:
    """The item's ItemResponse rows in position order, each with its response and the
    response's prompt loaded (a lease shows them; hand-written SQL as above)."""
    shapes = [columns(ItemResponse), columns(Response), columns(Prompt)]
    sql = (
        f"SELECT {shapes[0].select('x')}, {shapes[1].select('r')}, {shapes[2].select('p')} "
        f"FROM {table(ItemResponse)} x JOIN {table(Response)} r ON r.id = x.response_id "
        f"JOIN {table(Prompt)} p ON p.id = r.prompt_id WHERE x.item_id = %s "
        "ORDER BY x.position"
    )
    rows = []
    for row, response, prompt in fetch_all(sql, [item_id], shapes):
        cache_related(response, "prompt", prompt)
        cache_related(row, "response", response)
        rows.append(row)
    return rows


def task_view_build(
    *, assignment: Assignment, campaign: Campaign, responses: list[Response] | None = None
) -> TaskView:
    """A TaskView for an assignment whose item is loaded: one query for the responses
    with their prompt, none when the lease already read them (``responses``, in the
    order shown)."""
    if responses is None:
        order = list(assignment.presented_order)
        by_id = {r.pk: r for r in responses_with_prompts(order)}
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
    totals = local_cache.get(key)
    if totals is None:
        raw = campaign.items.aggregate(
            items=Count("id"),
            open_items=Count("id", filter=Q(status=ItemStatus.OPEN)),
            labels=Sum("n_submitted"),
            target=Sum("overlap"),
        )
        totals = {k: int(v or 0) for k, v in raw.items()}
        local_cache.set(key, totals, CACHE_SECONDS)
    if mine is None:
        done, skipped, _ = annotator_task_counts(
            annotator=annotator, campaign=campaign, now=timezone.now()
        )
        mine = {"done": done, "skipped": skipped}
    return {**totals, **{k: int(v or 0) for k, v in mine.items()}}
