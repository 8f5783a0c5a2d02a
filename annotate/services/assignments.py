"""The core flow: lease the next item, submit an answer, skip.

Concurrency (PostgreSQL): every change of ``Item.slots_taken`` happens while holding the
item's row lock, and the next-item query takes that lock with ``FOR UPDATE SKIP LOCKED``,
so concurrent annotators never wait on each other and never overfill an item. Lock order
is always annotator -> item on lease, assignment -> item on submit/skip/expiry, and
nothing locks an item and then waits on an existing assignment, so there is no cycle.
On SQLite (embedded mode) ``select_for_update`` is a no-op, but transactions start with
BEGIN IMMEDIATE (settings), which serialises writers just as safely.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from annotate import events
from annotate.campaign_config.routing import routing_enabled
from annotate.models import (
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    GuidelineVersion,
    Item,
    ItemResponse,
    ItemRoute,
    ItemStatus,
    TaskType,
)
from annotate.models.routing import ROUTABLE_TASK_TYPES
from annotate.payloads import PayloadContext, validate_payload
from annotate.selectors.guidelines import guideline_latest

from . import quality
from .adaptive_overlap import overlap_after_submit
from .errors import AlreadyFinished, AnnotatorPaused, CampaignNotOpen, LeaseExpired, NotFound
from .language_quotas import language_quota_candidates

logger = logging.getLogger(__name__)
_shuffle = random.SystemRandom().shuffle
EXPIRE_BATCH = 500


def assignments_expire_stale(*, now: datetime | None = None) -> int:
    """Mark leases past their expiry as expired and free their slots. Safe to run twice.

    Rows another transaction holds (an annotator submitting right now) are skipped: that
    submit wins and the lease is not expired under it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(status=AssignmentStatus.ACTIVE, lease_expires_at__lt=now)
            .values_list("id", "item_id")[:EXPIRE_BATCH]
        )
        if not stale:
            return 0
        Assignment.objects.filter(id__in=[a for a, _ in stale]).update(
            status=AssignmentStatus.EXPIRED, finished_at=now
        )
        for item_id, n in sorted(Counter(i for _, i in stale).items()):
            Item.objects.filter(id=item_id).update(slots_taken=F("slots_taken") - n)
    return len(stale)


def assignment_next(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: list[str] | None = None,
    item_filter: Q | None = None,
    now: datetime | None = None,
) -> Assignment | None:
    """Lease the next item for ``annotator``, or return the lease they already hold.

    ``item_filter`` narrows the candidates (quality control uses it to serve a gold item).

    Returns None when nothing is left for this person. Respects overlap and the language
    quotas, never gives the same item twice, and is safe under concurrency (locks:
    annotator, then the campaign's language-quota lock if it caps a language, then one
    item, taken with SKIP LOCKED).
    """
    if campaign.status != CampaignStatus.OPEN:
        raise CampaignNotOpen(gettext("Campaign %(name)s is not open.") % {"name": campaign.name})
    now = now or timezone.now()
    assignments_expire_stale(now=now)
    with transaction.atomic():
        # One request per annotator at a time: two tabs must not each lease an item.
        locked = (
            Annotator.objects.select_for_update().only("paused", "deleted_at").get(pk=annotator.pk)
        )
        if locked.paused or locked.deleted_at:
            raise AnnotatorPaused(quality.paused_reason_text(locked.paused_reason))
        current = (
            Assignment.objects.filter(
                annotator=annotator,
                campaign=campaign,
                status=AssignmentStatus.ACTIVE,
                lease_expires_at__gt=now,
            )
            .select_related("item")
            .order_by("leased_at")
            .first()
        )
        if current is not None:
            return current
        candidates = Item.objects.filter(
            campaign=campaign, status=ItemStatus.OPEN, slots_taken__lt=F("overlap")
        ).exclude(
            id__in=Assignment.objects.filter(annotator=annotator, campaign=campaign).values(
                "item_id"
            )
        )
        if task_types:
            candidates = candidates.filter(task_type__in=task_types)
        if item_filter is not None:
            candidates = candidates.filter(item_filter)
        if routing_enabled(campaign.config):
            # Of the task types a judge can label, only items routed to people (highest
            # predicted gain first: the plan writes their priority), so people label at
            # most the budget. The plan changes routes under the items' row locks, and
            # PostgreSQL re-checks this condition on a row it waited for, so a lease never
            # takes an item just sent to the AI.
            candidates = candidates.filter(
                Q(route=ItemRoute.HUMAN)
                | Q(is_gold=True)
                | Q(is_attention_check=True)
                | ~Q(task_type__in=ROUTABLE_TASK_TYPES)
            )
        # Language quotas (annotate/services/language_quotas.py): may take their lock.
        candidates, order_by = language_quota_candidates(campaign=campaign, candidates=candidates)
        ordered = candidates.order_by(*order_by)
        item = ordered.select_for_update(skip_locked=True, of=("self",)).first()
        if item is None:
            # SKIP LOCKED also skips items other annotators are leasing this instant; if
            # those were the last ones, wait for their locks instead of saying "done".
            # PostgreSQL re-checks the free-slot condition after the wait, so an item that
            # just filled up is passed over, not overfilled.
            item = ordered.select_for_update(of=("self",)).first()
        if item is None:
            return None
        order = list(
            ItemResponse.objects.filter(item=item)
            .order_by("position")
            .values_list("response_id", flat=True)
        )
        _shuffle(order)
        assignment = Assignment.objects.create(
            item=item,
            annotator=annotator,
            campaign=campaign,
            presented_order=order,
            lease_expires_at=now + timedelta(seconds=campaign.lease_seconds),
        )
        Item.objects.filter(pk=item.pk).update(slots_taken=F("slots_taken") + 1)
        item.slots_taken += 1
        assignment.item = item
        return assignment


def assignment_next_with_quality(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: list[str] | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Assignment | None:
    """assignment_next, mixing in gold items and attention checks at the configured rates
    (annotate.services.quality). Raises what assignment_next raises (CampaignNotOpen,
    AnnotatorPaused)."""
    now = now or timezone.now()
    kind = quality.quality_item_kind(campaign=campaign, rng=rng)
    if kind is not None and campaign.is_open:
        # Same locks and rules as any lease; only the candidates differ.
        leased = assignment_next(
            annotator=annotator, campaign=campaign, item_filter=Q(**{kind: True}), now=now
        )
        if leased is not None:
            return leased
    return assignment_next(annotator=annotator, campaign=campaign, task_types=task_types, now=now)


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


def _reclaim_expired_slot(assignment: Assignment) -> None:
    """An expired lease may still be answered if nobody took its slot meanwhile."""
    item = Item.objects.select_for_update().get(pk=assignment.item_id)
    if item.slots_taken >= item.overlap:
        raise LeaseExpired(gettext("This task timed out and was given to someone else."))
    Item.objects.filter(pk=item.pk).update(slots_taken=F("slots_taken") + 1)


def annotation_submit(
    *,
    assignment_id: int,
    annotator: Annotator,
    payload: Any,
    time_spent_ms: int | None = None,
    guideline_version_id: int | None = None,
) -> tuple[Annotation, bool]:
    """Store the answer to an assignment. Returns (annotation, created).

    Idempotent: a repeated submit (double click, retry after a network error, back
    button) returns the stored annotation and changes nothing. Raises PayloadError for a
    bad answer, NotFound for someone else's assignment, LeaseExpired when the slot is gone.
    Locks: the assignment row, then (only for an expired lease) the item row.
    """
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, annotator)
        # A separate statement on purpose: a join in the locking SELECT would read the
        # annotation table from the snapshot taken before the lock wait, and miss the row
        # a concurrent submit of the same assignment just committed.
        existing = Annotation.objects.filter(assignment=assignment).first()
        if existing is not None:
            return existing, False
        if assignment.status == AssignmentStatus.SKIPPED:
            raise AlreadyFinished(gettext("This task was skipped."))
        item, campaign = assignment.item, assignment.campaign
        # Only edits and critiques check text; the others skip the join.
        texts = (
            dict(
                ItemResponse.objects.filter(item=item).values_list("response_id", "response__text")
            )
            if item.task_type in (TaskType.EDIT, TaskType.CRITIQUE)
            else {}
        )
        clean = validate_payload(
            item.task_type,
            payload,
            PayloadContext(
                presented_order=assignment.presented_order,
                response_texts=texts,
                rating_range=campaign.rating_range,
                # An item may narrow the attributes (a live conversation rates one).
                rating_attributes=item.metadata.get("rating_attributes")
                or campaign.rating_attributes,
                critique_categories=campaign.critique_categories,
            ),
        )
        if assignment.status == AssignmentStatus.EXPIRED:
            _reclaim_expired_slot(assignment)
        guideline = _guideline_for(campaign, guideline_version_id)
        if time_spent_ms is not None:
            time_spent_ms = max(0, min(int(time_spent_ms), 86_400_000))
        flags = quality.annotation_flags(
            item=item, campaign=campaign, payload=clean, time_spent_ms=time_spent_ms
        )
        now = timezone.now()
        # The assignment row lock makes this the only writer for this assignment; the
        # unique constraint on Annotation.assignment is the backstop if that ever changes.
        annotation = Annotation.objects.create(
            assignment=assignment,
            item=item,
            campaign=campaign,
            annotator=annotator,
            task_type=item.task_type,
            payload=clean,
            time_spent_ms=time_spent_ms,
            guideline_version=guideline,
            profile_version_id=annotator.current_profile_id,
            flags=flags,
        )
        Assignment.objects.filter(pk=assignment.pk).update(
            status=AssignmentStatus.SUBMITTED, finished_at=now
        )
        Item.objects.filter(pk=item.pk).update(n_submitted=F("n_submitted") + 1)
        # Under the row lock that update took: see annotate/services/adaptive_overlap.py.
        overlap_after_submit(item=item, campaign=campaign)
        quality.after_submit(annotation=annotation)
        # Listeners (analytics snapshot, reward-feature warm-up) react after commit and
        # never fail the submit: annotate.listeners, modelserve.learning.listeners.
        events.send_on_commit(
            events.labels_received, campaign_id=campaign.pk, annotation_ids=[annotation.pk]
        )
    return annotation, True


def _guideline_for(campaign: Campaign, version_id: int | None) -> GuidelineVersion | None:
    if version_id is not None:
        found = GuidelineVersion.objects.filter(pk=version_id, campaign=campaign).first()
        if found is not None:
            return found
    return guideline_latest(campaign=campaign)


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
