"""A task page's submit: store the answer and lease the next task, in one transaction.

Issue 14: this is the hottest path of Chorus, so it is shaped for statements, not for
generality. In the common case (an active lease answered) it costs, inside one
transaction: one SELECT that reads the assignment with its item and campaign and locks
both the annotator's row and the assignment's row; one statement that marks the
assignment submitted and counts the label on its item; the INSERT of the annotation;
then the lease (annotate.services.leasing.lease_locked: the annotator's counts, the item
claim, its responses, the INSERT of the assignment). The annotator lock taken first is
the lease's lock too, so two tabs of one annotator still never hold two leases.

Lock order: annotator and assignment (one statement), then items. Leases lock the
annotator then items; skips and expiry lock assignments then items; nothing waits on an
annotator while holding an item or an assignment, so there is no cycle. A submit holds
its answered item's lock when it leases, so that lease skips locked items and never
waits for one (two submits each wanting the other's item deadlocked: CI, stop 21); when
that finds nothing, a fresh transaction leases with waiting.

Anything that goes wrong in the answer (a PayloadError) rolls the whole transaction
back before anything was written; expected situations (a repeat, a skipped or lost
lease, a paused annotator, a closed campaign) are outcomes, not exceptions, so the
label is committed whatever the lease finds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate.models import Annotation, Annotator, Assignment, AssignmentStatus, Item
from annotate.selectors.task_pages import assignment_for_annotator

from . import quality
from .assignments import store_answer, submit_precheck, validate_answer
from .errors import AlreadyFinished
from .language_quotas import language_quota_lock_if_capped
from .leasing import (
    Lease,
    assignment_lease,
    campaign_task_limit,
    lease_filters,
    lease_locked,
)


@dataclass
class SubmitOutcome:
    """What a submit did: the annotation (None when it could not be stored), whether it
    is new, a sentence for the annotator when something other than a plain save
    happened, and the next task (``lease``; None when the campaign is closed or the
    annotator paused, with ``blocked`` saying why)."""

    assignment: Assignment
    annotation: Annotation | None
    created: bool
    notice: str
    lease: Lease | None
    blocked: str = ""


def _slot_still_free(assignment: Assignment) -> bool:
    """An expired lease may still be answered if nobody took its slot meanwhile (then the
    slot is taken back for it, under the item's row lock)."""
    item = Item.objects.select_for_update().get(pk=assignment.item_id)
    if item.slots_taken >= item.overlap:
        return False
    Item.objects.filter(pk=item.pk).update(slots_taken=item.slots_taken + 1)
    return True


def annotation_submit_and_lease(
    *,
    assignment_id: int,
    annotator: Annotator,
    parse: Callable[[Assignment], Any],
    time_spent_ms: int | None = None,
    guideline_version_id: int | None = None,
    rng: random.Random | None = None,
) -> SubmitOutcome:
    """Store the answer to an assignment, then lease the annotator's next task in its
    campaign (quality items mixed in, the campaign's task limit respected).

    ``parse(assignment)`` turns the request into the payload (it needs the assignment's
    task type and shown order); it and validation may raise PayloadError, which leaves
    nothing written. Raises NotFound for someone else's assignment. Idempotent like
    annotation_submit: a repeat stores nothing and says so.
    Locks: the annotator and the assignment, then items.
    """
    with transaction.atomic():
        assignment = assignment_for_annotator(
            assignment_id=assignment_id, annotator=annotator, lock=True
        )
        campaign = assignment.campaign
        # Before any item lock: the lease below takes it after this item's (lock order
        # annotator, quota lock, items; annotate/services/language_quotas.py).
        language_quota_lock_if_capped(campaign=campaign)
        locked_annotator = assignment.annotator
        annotation, created, notice, paused = None, False, "", False
        existing = None
        try:
            existing = submit_precheck(assignment)
        except AlreadyFinished as exc:
            notice = gettext("%(reason)s Here is your next task.") % {"reason": exc}
        if existing is not None:
            annotation = existing
            notice = gettext("That answer was already saved. Here is your next task.")
        elif not notice:
            clean = validate_answer(assignment, parse(assignment))
            if assignment.status == AssignmentStatus.EXPIRED and not _slot_still_free(assignment):
                notice = gettext(
                    "%(reason)s Your answer could not be saved; here is your next task."
                ) % {"reason": gettext("This task timed out and was given to someone else.")}
            else:
                annotation, paused = store_answer(
                    assignment,
                    annotator,
                    clean,
                    time_spent_ms=time_spent_ms,
                    guideline_version_id=guideline_version_id,
                )
                created = True
        lease = None
        blocked = ""
        if paused or locked_annotator.paused or locked_annotator.deleted_at:
            reason = quality.GOLD_PAUSE_REASON if paused else locked_annotator.paused_reason
            blocked = quality.paused_reason_text(reason)
        elif not campaign.is_open:
            blocked = gettext("Campaign %(name)s is not open.") % {"name": campaign.name}
        else:
            max_done = campaign_task_limit(campaign)
            lease = lease_locked(
                annotator=annotator,
                campaign=campaign,
                filters=lease_filters(campaign=campaign, quality_mix=True, rng=rng),
                max_done=max_done,
                now=timezone.now(),
                # This transaction holds the answered item's row lock (its label count):
                # waiting for another item here could deadlock with a submit that holds
                # that one and wants ours. The fresh lease below waits safely instead.
                wait=False,
            )
    if lease is not None and lease.assignment is None and not lease.limit_reached:
        # The queue looks empty (or its last items are locked by other submits): the
        # full lease, holding no item lock, waits for those, expires stale leases and
        # looks again.
        lease = assignment_lease(
            annotator=annotator, campaign=campaign, quality_mix=True, max_done=max_done, rng=rng
        )
    return SubmitOutcome(assignment, annotation, created, notice, lease, blocked)
