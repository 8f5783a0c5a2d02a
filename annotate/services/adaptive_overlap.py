"""Adaptive overlap: more annotators for items whose labels disagree, up to a maximum.

Config: ``adaptive_overlap`` (annotate/campaign_config/overlap.py). The rule itself is
pure (annotate/analytics/disagreement.py); this module applies it inside a submit.

Concurrency: ``overlap_after_submit`` runs in the submit's transaction right after the
submit's ``UPDATE item SET n_submitted = n_submitted + 1``, so it holds the item's row
lock until commit. Two last labels of an item submitted together are serialised on that
lock: the second one's statements run after the first commits (READ COMMITTED takes a
fresh snapshot per statement), so exactly one of them sees ``n_submitted == overlap``
with every label in, and the raise happens once. Raising ``Item.overlap`` under the row
lock keeps ``slots_taken <= overlap`` (the check constraint) and puts the item back in
the queue's partial index (``slots_taken < overlap``) for the next lease.
"""

from __future__ import annotations

from typing import Any

from annotate.analytics.disagreement import answer_key, labels_disagree
from annotate.campaign_config import section_values
from annotate.campaign_config.overlap import AdaptiveOverlap
from annotate.models import Annotation, Campaign, Item

ADAPTIVE_TASK_TYPES = ("pairwise", "ranking", "rating")


def adaptive_overlap_settings(*, campaign: Campaign) -> AdaptiveOverlap:
    settings = section_values(campaign.config, AdaptiveOverlap)
    assert isinstance(settings, AdaptiveOverlap)
    return settings


def overlap_after_submit(*, item: Item, campaign: Campaign) -> int | None:
    """Raise the item's overlap if all its slots are answered and the labels disagree.

    Returns the new overlap, or None when nothing changed. Must run inside the submit's
    transaction after its n_submitted update (that update holds the item's row lock).
    """
    if not (campaign.config or {}).get("adaptive_overlap"):
        return None  # the common case, without validating the config section
    settings = adaptive_overlap_settings(campaign=campaign)
    if (
        not settings.enabled
        or item.task_type not in ADAPTIVE_TASK_TYPES
        or item.is_gold
        or item.is_attention_check
    ):
        return None
    # A fresh read: the counters as of now, under the row lock this transaction holds.
    n_submitted, overlap, metadata = Item.objects.filter(pk=item.pk).values_list(
        "n_submitted", "overlap", "metadata"
    )[0]
    if n_submitted < overlap or overlap >= settings.max_overlap:
        return None
    keys = [
        answer_key(
            item.task_type,
            payload or {},
            overall_attribute=campaign.overall_attribute,
            rating_range=campaign.rating_range,
        )
        for payload in Annotation.objects.filter(item_id=item.pk).values_list("payload", flat=True)
    ]
    if not labels_disagree(keys, rule=settings.rule, min_agreement=settings.min_agreement):
        return None
    new = min(overlap + settings.step, settings.max_overlap)
    Item.objects.filter(pk=item.pk).update(overlap=new, metadata=_with_round(metadata, new))
    # The campaign may have been marked done on the previous label: it is not any more.
    Campaign.objects.filter(pk=campaign.pk, done_at__isnull=False).update(done_at=None)
    return new


def _with_round(metadata: Any, overlap: int) -> dict[str, Any]:
    """The item's metadata with the raise recorded: admins see why an item got more
    annotators (the overlaps it was raised to, in order)."""
    metadata = dict(metadata or {})
    rounds = list(metadata.get("adaptive_overlap") or [])
    rounds.append(overlap)
    metadata["adaptive_overlap"] = rounds
    return metadata
