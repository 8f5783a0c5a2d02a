"""Active sampling: after a reward model is promoted, the open pairwise items it is least
sure about are served first (``Item.priority``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annotate.models import Campaign, Item, ItemResponse, ItemStatus
from modelserve.learning.features import feature_cache_dir
from modelserve.learning.selectors import serving_current
from modelserve.training.data import prompt_text


def items_prioritise_by_uncertainty(*, campaign: Campaign, limit: int = 5000) -> int:
    """Active sampling: priority = 1 - |2p - 1| for open two-response items, p the serving
    reward model's P(first preferred); the least certain pairs are served first."""
    # Heavy, optional: torch, loaded only in the worker that scores.
    from modelserve.training.reward import RewardScorer

    serving = serving_current(campaign=campaign)
    if not serving or not serving.reward_model:
        return 0
    scorer = RewardScorer(Path(serving.reward_model.artifact_dir), cache_dir=feature_cache_dir())
    items = list(
        Item.objects.filter(
            campaign=campaign,
            status=ItemStatus.OPEN,
            task_type="pairwise",
            is_gold=False,
            is_attention_check=False,
        ).values_list("pk", "prompt__messages")[:limit]
    )
    texts: dict[int, list[str]] = {}
    for item_id, text in (
        ItemResponse.objects.filter(item_id__in=[i for i, _ in items])
        .order_by("position")
        .values_list("item_id", "response__text")
    ):
        texts.setdefault(item_id, []).append(text)
    keep = [(i, prompt_text(m or [])) for i, m in items if len(texts.get(i, [])) == 2]
    if not keep:
        return 0
    prompts = [p for _, p in keep]
    a = scorer.score(prompts, [texts[i][0] for i, _ in keep])
    b = scorer.score(prompts, [texts[i][1] for i, _ in keep])
    p = 1.0 / (1.0 + np.exp(-(a - b)))
    objs = [
        Item(pk=i, priority=float(1 - abs(2 * q - 1))) for (i, _), q in zip(keep, p, strict=True)
    ]
    Item.objects.bulk_update(objs, ["priority"], batch_size=1000)
    return len(objs)
