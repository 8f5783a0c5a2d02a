"""The item claim of a lease: one statement that takes a free slot of the first item in
the annotator's queue (annotate.services.leasing leases with it).

The queue is the campaign's open items with a free slot that the annotator never had,
narrowed by task types, a quality filter (gold items, attention checks) and, with
routing on (issue 16), to items routed to people; language quotas (issue 17) drop full
languages and serve those under their floor first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from annotate.campaign_config.routing import routing_enabled
from annotate.models import Annotator, Assignment, Campaign, Item, ItemStatus
from annotate.models.choices import ItemRoute
from annotate.models.routing import ROUTABLE_TASK_TYPES
from annotate.selectors.sql_rows import columns, fetch_one, table

from .language_quotas import language_quota_candidates, language_quotas


def _claim_statement(
    candidates: QuerySet[Item], order_by: Sequence[str], *, wait: bool
) -> tuple[str, tuple[Any, ...]]:
    """Take one free slot of the first candidate in queue order, in one statement: the
    sub-select locks the row (skipping rows others hold unless ``wait``), the UPDATE
    counts the slot, RETURNING gives the item back."""
    pick = (
        candidates.order_by(*order_by)
        .select_for_update(skip_locked=not wait, of=("self",))
        .values("pk")[:1]
    )
    sub_sql, params = pick.query.sql_with_params()
    qn = connection.ops.quote_name
    slots, overlap = qn("slots_taken"), qn("overlap")
    sql = (
        f"UPDATE {table(Item)} SET {slots} = {slots} + 1 "  # names quoted, values bound
        f"WHERE {qn('id')} = ({sub_sql}) AND {slots} < {overlap} "
        f"RETURNING {columns(Item).select()}"
    )
    return sql, tuple(params)


def _claim(sql: str, params: Sequence[Any]) -> Item | None:
    found = fetch_one(sql, params, [columns(Item)])
    return found[0] if found else None


# Stand-ins for the annotator's and the campaign's ids in a claim statement compiled
# once per queue shape (_cached_statement); no real id is negative.
_ANNOTATOR_ID, _CAMPAIGN_ID = -7_100_000_000_001, -7_100_000_000_002
_CLAIMS: dict[Any, tuple[str, tuple[Any, ...]]] = {}
_CLAIMS_MAX = 256


def _cached_statement(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: Sequence[str] | None,
    extra: Q | None,
    wait: bool,
) -> tuple[str, list[Any]]:
    """The claim statement of a queue without language quotas. Building and compiling
    the candidate query cost ~1 ms of CPU per lease (issue 14), and only the two ids
    change between leases of the same shape, so the statement is compiled once per
    shape with stand-in ids, which are swapped for the real ones at each call."""
    routing = routing_enabled(campaign.config)
    key: Any = (connection.vendor, tuple(task_types or ()), extra, routing, wait)
    try:
        statement = _CLAIMS.get(key)
    except TypeError:  # a filter with a value that cannot be hashed: compile each time
        key, statement = None, None
    if statement is None:
        candidates = _candidates(
            annotator_id=_ANNOTATOR_ID,
            campaign_id=_CAMPAIGN_ID,
            routing=routing,
            task_types=task_types,
            extra=extra,
        )
        statement = _claim_statement(candidates, ["-priority", "id"], wait=wait)
        bound = [p for p in statement[1] if type(p) is int]
        if _ANNOTATOR_ID not in bound or _CAMPAIGN_ID not in bound:
            raise AssertionError("claim statement does not bind the stand-in ids")
        if key is not None and len(_CLAIMS) < _CLAIMS_MAX:
            _CLAIMS[key] = statement
    sql, template = statement
    ids = {_ANNOTATOR_ID: annotator.pk, _CAMPAIGN_ID: campaign.pk}
    return sql, [ids.get(p, p) if type(p) is int else p for p in template]


def _candidates(
    *,
    annotator_id: int,
    campaign_id: int,
    routing: bool,
    task_types: Sequence[str] | None,
    extra: Q | None,
) -> QuerySet[Item]:
    candidates = Item.objects.filter(
        campaign_id=campaign_id, status=ItemStatus.OPEN, slots_taken__lt=F("overlap")
    ).exclude(
        id__in=Assignment.objects.filter(annotator_id=annotator_id, campaign_id=campaign_id).values(
            "item_id"
        )
    )
    if task_types:
        candidates = candidates.filter(task_type__in=task_types)
    if extra is not None:
        candidates = candidates.filter(extra)
    if routing:
        # Issue 16. Of the task types a judge can label, only items routed to people
        # (highest predicted gain first: the plan writes their priority), so people label
        # at most the budget. The plan changes routes under the items' row locks, and
        # PostgreSQL re-checks this condition on a row it waited for, so a lease never
        # takes an item just sent to the AI.
        candidates = candidates.filter(
            Q(route=ItemRoute.HUMAN)
            | Q(is_gold=True)
            | Q(is_attention_check=True)
            | ~Q(task_type__in=ROUTABLE_TASK_TYPES)
        )
    return candidates


def claim_next(
    *,
    annotator: Annotator,
    campaign: Campaign,
    task_types: Sequence[str] | None,
    extra: Q | None,
    wait: bool,
) -> Item | None:
    """Take a slot of the first item in the annotator's queue; None when there is none.

    SKIP LOCKED also skips items other annotators are leasing this instant; if those were
    the last ones and ``wait``, the claim waits for their locks instead of saying "done".
    PostgreSQL re-checks the free-slot condition after the wait, so an item that just
    filled up is passed over, not overfilled.

    Language quotas (issue 17) drop full languages and serve those under their floor
    first, with values that change as labels arrive, so such a queue is built at each
    lease; with a cap this takes the campaign's quota lock (lock order: annotator, quota
    lock, item; annotate/services/language_quotas.py). Other queues use the statement
    compiled once per shape (_cached_statement).
    """
    if language_quotas(campaign=campaign):
        candidates = _candidates(
            annotator_id=annotator.pk,
            campaign_id=campaign.pk,
            routing=routing_enabled(campaign.config),
            task_types=task_types,
            extra=extra,
        )
        candidates, order_by = language_quota_candidates(campaign=campaign, candidates=candidates)

        def statement(*, wait: bool) -> tuple[str, Sequence[Any]]:
            return _claim_statement(candidates, order_by, wait=wait)

    else:

        def statement(*, wait: bool) -> tuple[str, Sequence[Any]]:
            return _cached_statement(
                annotator=annotator,
                campaign=campaign,
                task_types=task_types,
                extra=extra,
                wait=wait,
            )

    item = _claim(*statement(wait=False))
    if item is None and wait:
        item = _claim(*statement(wait=True))
    return item
