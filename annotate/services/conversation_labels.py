"""Turn-level labels of a live conversation, stored as ordinary items and annotations.

Each rated turn becomes an item over the turn's responses that is already answered by
the conversation's author: overlap 1, leased to them at once (so nobody else is ever
served it), and answered through ``annotation_submit`` so payload validation, quality
flags and analytics treat it like any other label.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from annotate.models import Annotator, Assignment, Campaign, Item, Prompt

from .assignments import annotation_submit
from .items import item_create_for_responses


def conversation_item_answered(
    *,
    assignment: Assignment,
    annotator: Annotator,
    task_type: str,
    prompt_id: int,
    responses: list[Any],
    payload: dict[str, Any],
    metadata: dict[str, Any],
) -> Item:
    """An item already answered by this annotator, stored through the core services."""
    campaign = assignment.campaign
    prompt = Prompt.objects.get(pk=prompt_id)
    item = item_create_for_responses(
        campaign=campaign,
        task_type=task_type,
        prompt=prompt,
        responses=responses,
        metadata={
            "source": "conversation",
            # A turn is rated once, 1-100, as PRISM does: only the overall attribute.
            **(
                {"rating_attributes": [campaign.overall_attribute]} if task_type == "rating" else {}
            ),
            **metadata,
        },
    )
    # Overlap 1 and leased to the author at once: nobody else is ever served this item.
    Item.objects.filter(pk=item.pk).update(overlap=1, slots_taken=1)
    derived = Assignment.objects.create(
        item=item,
        annotator=annotator,
        campaign=campaign,
        presented_order=[r.pk for r in responses],
        lease_expires_at=timezone.now() + timedelta(seconds=campaign.lease_seconds),
    )
    annotation_submit(assignment_id=derived.pk, annotator=annotator, payload=payload)
    return item


def conversation_rating_payload(campaign: Campaign, scores: dict[int, int]) -> dict[str, Any]:
    low, high = campaign.rating_range
    attribute = campaign.overall_attribute

    def scaled(score: int) -> int:
        return score if (low, high) == (1, 100) else low + round((score - 1) * (high - low) / 99)

    # Other attributes are not asked mid-conversation; the derived item says so in its
    # metadata ("rating_attributes"), so the validator asks for the overall one only.
    return {"ratings": {str(rid): {attribute: scaled(s)} for rid, s in scores.items()}}
