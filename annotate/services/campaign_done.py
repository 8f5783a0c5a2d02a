"""Noticing that a campaign has all its labels (the ``campaign_done`` domain event).

A campaign is done when it has items and every open item has as many submitted labels
as its overlap. Checked after each batch of labels (a ``labels_received`` listener,
connected in AnnotateConfig.ready()); ``Campaign.done_at`` makes the event fire once per
completion: a conditional UPDATE sets it (only one of two racing checks succeeds), and
it is cleared when new work arrives (more items, a pool top-up), so the next completion
fires again.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from annotate import events
from annotate.models import Campaign, Item, ItemStatus
from annotate.selectors.sql_rows import table


def campaign_done_check(*, campaign_id: int) -> bool:
    """Set ``done_at`` and send ``campaign_done`` when the campaign just got done."""
    open_work, has_items, marked_done = _work_left(campaign_id)
    if open_work or not has_items:
        if marked_done:
            Campaign.objects.filter(pk=campaign_id, done_at__isnull=False).update(done_at=None)
        return False
    won = Campaign.objects.filter(pk=campaign_id, done_at__isnull=True).update(
        done_at=timezone.now()
    )
    if won:
        events.send_on_commit(events.campaign_done, campaign_id=campaign_id)
    return bool(won)


def _work_left(campaign_id: int) -> tuple[bool, bool, bool]:
    """(an open item still wants a label, the campaign has open items, ``done_at`` is
    set) in one statement. Free slots first: that EXISTS has a partial index
    (item_open_queue), so the check after a submit stays cheap however big the campaign;
    only near the end, when every slot is leased, does the second look at the items still
    being answered. Hand-written: it runs whenever a label completes an item (issue 14).
    """
    items = table(Item)
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {items} WHERE campaign_id = %s AND status = %s "
        "AND slots_taken < overlap) "
        f"OR EXISTS (SELECT 1 FROM {items} WHERE campaign_id = %s AND status = %s "
        "AND n_submitted < overlap), "
        f"EXISTS (SELECT 1 FROM {items} WHERE campaign_id = %s AND status = %s), "
        f"EXISTS (SELECT 1 FROM {table(Campaign)} WHERE id = %s AND done_at IS NOT NULL)"
    )
    status = ItemStatus.OPEN.value
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [campaign_id, status, campaign_id, status, campaign_id, status, campaign_id]
        )
        open_work, has_items, marked_done = cursor.fetchone()
    return bool(open_work), bool(has_items), bool(marked_done)


def on_labels_received(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    # A label can only finish a campaign by completing an item; a submit says which
    # items it completed (an empty list: none), so most submits cost no query here.
    # Senders that do not say are checked as before.
    if kwargs.get("completed_item_ids") == []:
        return
    campaign_done_check(campaign_id=campaign_id)
