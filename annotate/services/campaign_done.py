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

from django.db.models import F
from django.utils import timezone

from annotate import events
from annotate.models import Campaign, Item, ItemStatus


def campaign_done_check(*, campaign_id: int) -> bool:
    """Set ``done_at`` and send ``campaign_done`` when the campaign just got done."""
    items = Item.objects.filter(campaign_id=campaign_id, status=ItemStatus.OPEN)
    # Free slots first: that query has a partial index (item_open_queue), so the check
    # after a submit stays cheap however big the campaign; only near the end, when every
    # slot is leased, does the second query look at the items still being answered.
    open_work = (
        items.filter(slots_taken__lt=F("overlap")).exists()
        or items.filter(n_submitted__lt=F("overlap")).exists()
    )
    if open_work or not items.exists():
        Campaign.objects.filter(pk=campaign_id, done_at__isnull=False).update(done_at=None)
        return False
    won = Campaign.objects.filter(pk=campaign_id, done_at__isnull=True).update(
        done_at=timezone.now()
    )
    if won:
        events.send_on_commit(events.campaign_done, campaign_id=campaign_id)
    return bool(won)


def on_labels_received(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    # A label can only finish a campaign by completing an item; a submit says which
    # items it completed (an empty list: none), so most submits cost no query here.
    # Senders that do not say are checked as before.
    if kwargs.get("completed_item_ids") == []:
        return
    campaign_done_check(campaign_id=campaign_id)
