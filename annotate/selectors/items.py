"""Reads of items for the API: a campaign's items with prompt and responses in order."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch, QuerySet

from annotate.models import Campaign, Item, ItemResponse


def items_of_campaign(
    *, campaign: Campaign, task_types: Sequence[str] | None = None
) -> QuerySet[Item]:
    """The campaign's items, their prompt joined and their responses prefetched in
    canonical order: two queries whatever the page size. The caller checked that the user
    may read the campaign (``campaigns_visible_to``)."""
    qs = (
        Item.objects.filter(campaign=campaign)
        .select_related("campaign", "prompt")
        .prefetch_related(
            Prefetch(
                "item_responses",
                queryset=ItemResponse.objects.select_related("response").order_by("position"),
            )
        )
    )
    if task_types:
        qs = qs.filter(task_type__in=list(task_types))
    return qs


def item_of_campaign(*, campaign: Campaign, item_id: int) -> Item | None:
    return items_of_campaign(campaign=campaign).filter(pk=item_id).first()
