"""Leasing the next item, and expiring leases nobody answered.

Concurrency (PostgreSQL): every change of ``Item.slots_taken`` happens while holding the
item's row lock. A lease claims its item with one statement, ``UPDATE item SET
slots_taken = slots_taken + 1 WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING *``, so concurrent annotators never wait on each other and never overfill an
item. Lock order is always annotator -> item on lease, assignment -> item on
submit/skip/expiry, and nothing locks an item and then waits on an existing assignment,
so there is no cycle. On SQLite (embedded mode) ``select_for_update`` is a no-op, but
transactions start with BEGIN IMMEDIATE (settings), which serialises writers just as
safely (SQLite 3.35+ has ``UPDATE ... RETURNING``).

Expiry (issue 14): leases past their time are expired by a beat task
(``annotate.tasks.assignments_expire``, every ``CHORUS_LEASE_EXPIRY_EVERY_S``), not by
every lease; a lease that finds the queue empty expires its campaign's stale leases
itself and looks once more, so a freed slot is never waited for until the next beat.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    Item,
    Response,
    TaskType,
)
from annotate.selectors.task_pages import annotator_task_counts, item_responses_with_prompts

from . import quality
from .claims import claim_next
from .errors import AnnotatorPaused, CampaignNotOpen

_shuffle = random.SystemRandom().shuffle
EXPIRE_BATCH = 500
# Response texts of edit and critique items, cached at lease time so the submit checks
# the edited text against the original without a query (texts never change).
TEXTS_CACHE_S = 6 * 3600


def item_texts_key(item_id: int) -> str:
    return f"chorus:item-texts:{item_id}"


@dataclass
class Lease:
    """What leasing found: the assignment (None: nothing left, or the task limit), the
    annotator's own counts in the campaign, and the responses in the order shown."""

    assignment: Assignment | None
    done: int = 0
    skipped: int = 0
    limit_reached: bool = False
    responses: list[Response] | None = field(default=None)


def _expire_rows(*, now: datetime, campaign_id: int | None) -> int:
    """One batch of stale leases expired; the caller holds the transaction."""
    stale_q = Assignment.objects.filter(status=AssignmentStatus.ACTIVE, lease_expires_at__lt=now)
    if campaign_id is not None:
        stale_q = stale_q.filter(campaign_id=campaign_id)
    stale = list(
        stale_q.select_for_update(skip_locked=True).values_list("id", "item_id")[:EXPIRE_BATCH]
    )
    if not stale:
        return 0
    Assignment.objects.filter(id__in=[a for a, _ in stale]).update(
        status=AssignmentStatus.EXPIRED, finished_at=now
    )
    # Sorted: two expiries lock items in the same order, so they never deadlock.
    for item_id, n in sorted(Counter(i for _, i in stale).items()):
        Item.objects.filter(id=item_id).update(slots_taken=F("slots_taken") - n)
    return len(stale)


def assignments_expire_stale(*, now: datetime | None = None, campaign_id: int | None = None) -> int:
    """Mark leases past their expiry as expired and free their slots (one batch of at
    most EXPIRE_BATCH; ``campaign_id`` narrows it). Safe to run twice.

    Rows another transaction holds (an annotator submitting right now) are skipped: that
    submit wins and the lease is not expired under it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _expire_rows(now=now, campaign_id=campaign_id)


def assignments_expire_all(*, now: datetime | None = None, max_batches: int = 100) -> int:
    """Every stale lease expired, batch by batch (the beat task). Returns how many."""
    now = now or timezone.now()
    total = 0
    for _ in range(max_batches):
        n = assignments_expire_stale(now=now)
        total += n
        if n < EXPIRE_BATCH:
            break
    return total


def _lease_once(
    *,
    annotator: Annotator,
    campaign: Campaign,
    filters: Sequence[Q | None],
    task_types: Sequence[str] | None,
    max_done: int,
    now: datetime,
) -> Lease:
    with transaction.atomic():
        # One request per annotator at a time: two tabs must not each lease an item.
        locked = (
            Annotator.objects.select_for_update()
            .only("paused", "paused_reason", "deleted_at")
            .get(pk=annotator.pk)
        )
        if locked.paused or locked.deleted_at:
            raise AnnotatorPaused(quality.paused_reason_text(locked.paused_reason))
        return lease_locked(
            annotator=annotator,
            campaign=campaign,
            filters=filters,
            task_types=task_types,
            max_done=max_done,
            now=now,
        )


def lease_locked(
    *,
    annotator: Annotator,
    campaign: Campaign,
    filters: Sequence[Q | None],
    task_types: Sequence[str] | None = None,
    max_done: int = 0,
    now: datetime,
    wait: bool = True,
) -> Lease:
    """The lease itself; the caller holds the annotator's row lock in its transaction
    (_lease_once, or a submit that leases the next task in the same transaction).

    ``wait=False`` never waits for an item another transaction holds: a caller that
    already holds an item's row lock (a submit, which counted its label on its item)
    must not wait for a second item, or two submits each holding the item the other
    wants deadlock. Such a caller finds nothing where a waiting lease would have found
    an item, and leases again in a fresh transaction (submit_flow does)."""
    # A separate statement after the lock on purpose: its snapshot sees a lease the
    # other tab committed while we waited for the lock.
    done, skipped, current_id = annotator_task_counts(
        annotator=annotator, campaign=campaign, now=now
    )
    if current_id is not None:
        current = Assignment.objects.select_related("item").get(pk=current_id)
        return Lease(current, done, skipped)
    if max_done and done >= max_done:
        return Lease(None, done, skipped, limit_reached=True)
    item = None
    for extra in filters:
        item = claim_next(
            annotator=annotator, campaign=campaign, task_types=task_types, extra=extra, wait=wait
        )
        if item is not None:
            break
    if item is None:
        return Lease(None, done, skipped)
    rows = item_responses_with_prompts(item.pk)
    order = [row.response_id for row in rows]
    _shuffle(order)
    assignment = Assignment.objects.create(
        item=item,
        annotator=annotator,
        campaign=campaign,
        presented_order=order,
        lease_expires_at=now + timedelta(seconds=campaign.lease_seconds),
    )
    assignment.item = item
    by_id = {row.response_id: row.response for row in rows}
    if item.task_type in (TaskType.EDIT, TaskType.CRITIQUE):
        cache.set(item_texts_key(item.pk), {k: r.text for k, r in by_id.items()}, TEXTS_CACHE_S)
    return Lease(assignment, done, skipped, responses=[by_id[rid] for rid in order])


def campaign_task_limit(campaign: Campaign) -> int:
    """``max_tasks_per_annotator`` of the campaign's config (0: no limit): after this
    many submitted tasks a participant is done."""
    try:
        return max(0, int((campaign.config or {}).get("max_tasks_per_annotator") or 0))
    except (TypeError, ValueError):
        return 0


def lease_filters(
    *,
    campaign: Campaign,
    item_filter: Q | None = None,
    quality_mix: bool = False,
    rng: random.Random | None = None,
) -> list[Q | None]:
    """The candidate filters a lease tries in turn: a gold item or attention check first
    when the campaign's rates draw one (``quality_mix``), then the ordinary queue."""
    filters: list[Q | None] = [item_filter]
    if quality_mix:
        kind = quality.quality_item_kind(campaign=campaign, rng=rng)
        if kind is not None:
            filters.insert(0, Q(**{kind: True}) & (item_filter or Q()))
    return filters


def assignment_lease(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: Sequence[str] | None = None,
    item_filter: Q | None = None,
    quality_mix: bool = False,
    max_done: int = 0,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Lease:
    """Lease the next item for ``annotator``, or give back the lease they already hold.

    ``quality_mix`` tries a gold item or attention check first at the campaign's rates
    (annotate.services.quality); ``item_filter`` narrows the candidates; ``max_done``
    (when > 0) stops leasing once the annotator submitted that many tasks. Respects
    overlap, never gives the same item twice, and is safe under concurrency (locks:
    annotator, then one item, taken with SKIP LOCKED). Raises CampaignNotOpen and
    AnnotatorPaused.
    """
    if campaign.status != CampaignStatus.OPEN:
        raise CampaignNotOpen(gettext("Campaign %(name)s is not open.") % {"name": campaign.name})
    now = now or timezone.now()
    filters = lease_filters(
        campaign=campaign, item_filter=item_filter, quality_mix=quality_mix, rng=rng
    )
    attempt = partial(
        _lease_once,
        annotator=annotator,
        campaign=campaign,
        filters=filters,
        task_types=task_types,
        max_done=max_done,
        now=now,
    )
    lease = attempt()
    # The queue looks empty: leases that ran out may be holding its last slots.
    if (
        lease.assignment is None
        and not lease.limit_reached
        and assignments_expire_stale(now=now, campaign_id=campaign.pk)
    ):
        lease = attempt()
    return lease


def assignment_next(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: list[str] | None = None,
    item_filter: Q | None = None,
    now: datetime | None = None,
) -> Assignment | None:
    """The leased (or already held) assignment, None when nothing is left for this
    person (assignment_lease without the counts)."""
    return assignment_lease(
        annotator=annotator,
        campaign=campaign,
        task_types=task_types,
        item_filter=item_filter,
        now=now,
    ).assignment


def assignment_next_with_quality(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: list[str] | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Assignment | None:
    """assignment_next, mixing in gold items and attention checks at the configured rates
    (annotate.services.quality). Raises CampaignNotOpen and AnnotatorPaused."""
    return assignment_lease(
        annotator=annotator,
        campaign=campaign,
        task_types=task_types,
        quality_mix=True,
        now=now,
        rng=rng,
    ).assignment
