"""Building labelled campaigns quickly for the learning-loop tests."""

from __future__ import annotations

from typing import Any

from annotate.models import Annotation, AssignmentStatus, Item
from tests.factories import AssignmentFactory, ItemFactory, ProfileVersionFactory


def response_ids(item: Item) -> list[int]:
    return list(item.item_responses.order_by("position").values_list("response_id", flat=True))


def label(item: Item, annotator: Any, payload: dict[str, Any]) -> Annotation:
    assignment = AssignmentFactory(
        item=item,
        annotator=annotator,
        status=AssignmentStatus.SUBMITTED,
        presented_order=response_ids(item),
    )
    return Annotation.objects.create(
        assignment=assignment,
        item=item,
        campaign=item.campaign,
        annotator=annotator,
        task_type=item.task_type,
        payload=payload,
        profile_version=annotator.current_profile,
    )


def annotator_with_profile(**profile: Any) -> Any:
    pv = ProfileVersionFactory(**profile)
    pv.annotator.current_profile = pv
    pv.annotator.save(update_fields=["current_profile"])
    return pv.annotator


def pairwise_campaign_labels(campaign: Any, n: int, annotators: list[Any]) -> list[Annotation]:
    """n pairwise items whose first response is helpful and second curt; labelled so."""
    out = []
    for i in range(n):
        item = ItemFactory(campaign=campaign, prompt__text=f"How do I bake bread, case {i}?")
        good, bad = response_ids(item)
        item.item_responses.get(response_id=good).response.__class__.objects.filter(pk=good).update(
            text=f"Happy to help! Mix flour, water, yeast and salt, knead, "
            f"let it rise, then bake at 230 C (variant {i})."
        )
        item.item_responses.get(response_id=bad).response.__class__.objects.filter(pk=bad).update(
            text=f"No. Figure it out yourself, idiot ({i})."
        )
        out.append(
            label(
                item,
                annotators[i % len(annotators)],
                {"choice": "A", "strength": -2, "chosen": good, "rejected": bad},
            )
        )
    return out
