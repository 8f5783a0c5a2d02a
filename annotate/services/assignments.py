"""The core flow: submit an answer, skip (leasing lives in annotate.services.leasing).

Concurrency (PostgreSQL): a submit takes the assignment's row lock, then touches its
item; the common case (an active lease answered in time) takes the lock with the
conditional UPDATE that marks it submitted, so the whole submit is three statements.
Lock order is assignment -> item here and annotator -> item on lease, so there is no
cycle (annotate.services.leasing).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from annotate import events
from annotate.models import (
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    GuidelineVersion,
    Item,
    ItemResponse,
    ItemStatus,
    TaskType,
)
from annotate.payloads import PayloadContext, validate_payload
from annotate.selectors.guidelines import guideline_current

from . import quality
from .adaptive_overlap import overlap_after_submit
from .errors import AlreadyFinished, LeaseExpired, NotFound
from .leasing import (
    assignment_lease,
    assignment_next,
    assignment_next_with_quality,
    assignments_expire_all,
    assignments_expire_stale,
    item_texts_key,
)

logger = logging.getLogger(__name__)

__all__ = [
    "annotation_submit",
    "assignment_lease",
    "assignment_next",
    "assignment_next_with_quality",
    "assignment_skip",
    "assignments_expire_all",
    "assignments_expire_stale",
    "item_retire",
]


def _lock_own_assignment(assignment_id: int, annotator: Annotator) -> Assignment:
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("item", "campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        # Someone else's assignment looks exactly like a missing one.
        raise NotFound(gettext("No such task."))
    return assignment


def reclaim_expired_slot(assignment: Assignment) -> None:
    """An expired lease may still be answered if nobody took its slot meanwhile."""
    item = Item.objects.select_for_update().get(pk=assignment.item_id)
    if item.slots_taken >= item.overlap:
        raise LeaseExpired(gettext("This task timed out and was given to someone else."))
    Item.objects.filter(pk=item.pk).update(slots_taken=F("slots_taken") + 1)


def _response_texts(item: Item) -> dict[int, str]:
    """Original texts an edit or critique is checked against (cached by the lease)."""
    if item.task_type not in (TaskType.EDIT, TaskType.CRITIQUE):
        return {}
    texts = cache.get(item_texts_key(item.pk))
    if texts is None:
        texts = dict(
            ItemResponse.objects.filter(item=item).values_list("response_id", "response__text")
        )
    return texts


def validate_answer(assignment: Assignment, payload: Any) -> dict[str, Any]:
    item, campaign = assignment.item, assignment.campaign
    return validate_payload(
        item.task_type,
        payload,
        PayloadContext(
            presented_order=assignment.presented_order,
            response_texts=_response_texts(item),
            rating_range=campaign.rating_range,
            # An item may narrow the attributes (a live conversation rates one).
            rating_attributes=item.metadata.get("rating_attributes") or campaign.rating_attributes,
            critique_categories=campaign.critique_categories,
        ),
    )


def _mark_submitted(assignment: Assignment) -> bool:
    """The assignment submitted and one more label counted on its item, in one statement
    on PostgreSQL. Returns True when that label completed the item (its overlap reached):
    RETURNING reads the count this statement wrote, whatever others did meanwhile. The
    caller holds the assignment's row lock."""
    now = timezone.now()
    qn = connection.ops.quote_name
    item_t, n, pk = qn(Item._meta.db_table), qn("n_submitted"), qn("id")
    bump = f"UPDATE {item_t} SET {n} = {n} + 1 WHERE {pk} = %s RETURNING {pk}, {n}, {qn('overlap')}"
    if connection.vendor == "postgresql":
        assignment_t = qn(Assignment._meta.db_table)
        sql = (
            f"WITH done AS (UPDATE {assignment_t} SET {qn('status')} = %s, "
            f"{qn('finished_at')} = %s WHERE {pk} = %s) " + bump
        )
        params: list[Any] = [AssignmentStatus.SUBMITTED, now, assignment.pk, assignment.item_id]
    else:
        Assignment.objects.filter(pk=assignment.pk).update(
            status=AssignmentStatus.SUBMITTED, finished_at=now
        )
        sql, params = bump, [assignment.item_id]
    # Names are quoted and every value is bound.
    row = next(iter(Item.objects.raw(sql, params)), None)
    return row is not None and row.n_submitted >= row.overlap


def store_answer(
    assignment: Assignment,
    annotator: Annotator,
    clean: dict[str, Any],
    *,
    time_spent_ms: int | None,
    guideline_version_id: int | None,
) -> tuple[Annotation, bool]:
    """Mark the assignment submitted, count it on the item, store the annotation; the
    caller holds the assignment's row lock. Returns the annotation and whether the
    annotator got paused by this answer (a failed quality check)."""
    item, campaign = assignment.item, assignment.campaign
    completed = _mark_submitted(assignment)
    if time_spent_ms is not None:
        time_spent_ms = max(0, min(int(time_spent_ms), 86_400_000))
    flags = quality.annotation_flags(
        item=item, campaign=campaign, payload=clean, time_spent_ms=time_spent_ms
    )
    # The assignment row lock makes this the only writer for this assignment; the
    # unique constraint on Annotation.assignment is the backstop if that ever changes.
    # Constructed and saved rather than objects.create(): the default manager would
    # build its "human labels only" queryset just to insert (issue 14).
    annotation = Annotation(
        assignment=assignment,
        item=item,
        campaign=campaign,
        annotator=annotator,
        task_type=item.task_type,
        payload=clean,
        time_spent_ms=time_spent_ms,
        guideline_version=_guideline_for(campaign, guideline_version_id),
        profile_version_id=annotator.current_profile_id,
        flags=flags,
    )
    annotation.save(force_insert=True)
    # Issue 17: disagreeing labels may raise the item's overlap (adaptive overlap), under
    # the item row lock _mark_submitted took; then the item is not complete after all.
    if overlap_after_submit(item=item, campaign=campaign) is not None:
        completed = False
    paused = quality.after_submit(annotation=annotation)
    # Listeners (analytics snapshot, campaign done, webhooks) react after commit and
    # never fail the submit: annotate.listeners. ``completed_item_ids`` tells the
    # campaign-done check whether this label can have finished the campaign at all.
    events.send_on_commit(
        events.labels_received,
        campaign_id=campaign.pk,
        annotation_ids=[annotation.pk],
        completed_item_ids=[item.pk] if completed else [],
    )
    return annotation, paused


def annotation_submit(
    *,
    assignment_id: int,
    annotator: Annotator,
    payload: Any,
    time_spent_ms: int | None = None,
    guideline_version_id: int | None = None,
    locked: Assignment | None = None,
) -> tuple[Annotation, bool]:
    """Store the answer to an assignment. Returns (annotation, created).

    Idempotent: a repeated submit (double click, retry after a network error, back
    button) returns the stored annotation and changes nothing. Raises PayloadError for a
    bad answer, NotFound for someone else's assignment, LeaseExpired when the slot is gone.
    Locks: the assignment row, then the item row. (The task pages submit and lease the
    next task in one transaction: annotate.services.submit_flow.) ``locked``: the
    assignment (with item and campaign) when the caller already holds its row lock in
    its own transaction (a live conversation's closing step).
    """
    if locked is not None and locked.pk == assignment_id and locked.annotator_id == annotator.pk:
        return _submit_locked(locked, annotator, payload, time_spent_ms, guideline_version_id)
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, annotator)
        return _submit_locked(assignment, annotator, payload, time_spent_ms, guideline_version_id)


def _submit_locked(
    assignment: Assignment,
    annotator: Annotator,
    payload: Any,
    time_spent_ms: int | None,
    guideline_version_id: int | None,
) -> tuple[Annotation, bool]:
    existing = submit_precheck(assignment)
    if existing is not None:
        return existing, False
    clean = validate_answer(assignment, payload)
    if assignment.status == AssignmentStatus.EXPIRED:
        reclaim_expired_slot(assignment)
    annotation, _paused = store_answer(
        assignment,
        annotator,
        clean,
        time_spent_ms=time_spent_ms,
        guideline_version_id=guideline_version_id,
    )
    return annotation, True


def submit_precheck(assignment: Assignment) -> Annotation | None:
    """The stored annotation of an already answered assignment (a repeat), or None when
    it may be answered; raises AlreadyFinished for a skipped one. The caller holds the
    assignment's row lock."""
    # A separate statement on purpose, and only for a submitted assignment: a join in
    # the locking SELECT would read the annotation table from the snapshot taken before
    # the lock wait, while the status the lock returns is the latest (an annotation and
    # the status "submitted" commit together).
    if assignment.status == AssignmentStatus.SUBMITTED:
        existing = Annotation.objects.filter(assignment=assignment).first()
        if existing is not None:
            return existing
    if assignment.status == AssignmentStatus.SKIPPED:
        raise AlreadyFinished(gettext("This task was skipped."))
    return None


def _guideline_for(campaign: Campaign, version_id: int | None) -> GuidelineVersion | None:
    """The guideline the page showed (its id is posted back), else the newest one in the
    language of the request. The newest comes from the short cache (no query); another
    posted id is checked to belong to the campaign."""
    current = guideline_current(campaign=campaign)
    if version_id is not None and (current is None or current.pk != version_id):
        found = GuidelineVersion.objects.filter(pk=version_id, campaign=campaign).first()
        if found is not None:
            return found
    return current


def assignment_skip(*, assignment_id: int, annotator: Annotator, reason: str = "") -> Assignment:
    """Give an item back with a reason; its slot is freed for someone else. Idempotent."""
    reason = (reason or "").strip()[:500]
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, annotator)
        if assignment.status == AssignmentStatus.SUBMITTED:
            raise AlreadyFinished(gettext("This task was already submitted."))
        if assignment.status == AssignmentStatus.SKIPPED:
            return assignment
        was_active = assignment.status == AssignmentStatus.ACTIVE
        assignment.status = AssignmentStatus.SKIPPED
        assignment.skip_reason = reason
        assignment.finished_at = timezone.now()
        assignment.save(update_fields=["status", "skip_reason", "finished_at"])
        if was_active:
            Item.objects.filter(pk=assignment.item_id).update(slots_taken=F("slots_taken") - 1)
    return assignment


def item_retire(*, item: Item) -> None:
    """Stop serving an item (bad content, enough labels). Existing leases run out."""
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.RETIRED)
