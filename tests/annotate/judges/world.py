"""A simulated campaign with known truth: items whose responses carry their quality,
human labels from annotators with profiles, and a simulated judge (sim_backend)."""

from __future__ import annotations

import random
from typing import Any

from annotate.models import Item, ItemResponse, Judge
from annotate.services.judges import judge_create
from tests.annotate.api.conftest import make_annotation
from tests.factories import (
    CampaignFactory,
    ModelEndpointFactory,
    ProfileVersionFactory,
    PromptFactory,
    ResponseFactory,
)


def annotator(**profile: Any) -> Any:
    pv = ProfileVersionFactory(**profile)
    pv.annotator.current_profile = pv
    pv.annotator.save(update_fields=["current_profile"])
    return pv.annotator


def item_with_qualities(campaign: Any, task_type: str, qualities: list[float]) -> Item:
    prompt = PromptFactory(campaign=campaign)
    item = Item.objects.create(campaign=campaign, task_type=task_type, prompt=prompt)
    for position, q in enumerate(qualities):
        response = ResponseFactory(prompt=prompt, text=f"Answer {position} [q={q:.3f}]")
        ItemResponse.objects.create(item=item, response=response, position=position)
    return item


def qualities(item: Item) -> list[float]:
    texts = item.item_responses.order_by("position").values_list("response__text", flat=True)
    return [float(t.split("[q=")[1].rstrip("]")) for t in texts]


def pairwise_truth_payload(item: Item, wrong: bool = False) -> dict[str, Any]:
    a, b = item.item_responses.order_by("position").values_list("response_id", flat=True)
    qa, qb = qualities(item)
    first_better = (qa > qb) != wrong
    chosen, rejected = (a, b) if first_better else (b, a)
    return {
        "choice": "A" if first_better else "B",
        "strength": None,
        "reason": "",
        "response_ids": [a, b],
        "chosen": chosen,
        "rejected": rejected,
    }


def judge_world(
    *,
    n_items: int = 10,
    behaviour: str = "sim",
    human_err: float = 0.0,
    n_humans: int = 1,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    policy: str = "",
) -> tuple[Any, Judge, list[Item]]:
    """A pairwise campaign of ``n_items`` labelled by ``n_humans`` annotators (one per
    profile gender, alternating) and a judge on the simulated endpoint ``behaviour``."""
    rng = random.Random(seed)
    campaign = CampaignFactory(overlap=max(1, n_humans), config=config or {})
    humans = [annotator(gender=("female" if k % 2 == 0 else "male")) for k in range(n_humans)]
    items = []
    for _ in range(n_items):
        qa, qb = rng.random(), rng.random()
        item = item_with_qualities(campaign, "pairwise", [qa, qb])
        for h in humans:
            make_annotation(item, h, pairwise_truth_payload(item, wrong=rng.random() < human_err))
        items.append(item)
    endpoint = ModelEndpointFactory(backend="sim", model=behaviour, params={})
    judge = judge_create(
        campaign=campaign, name="sim-judge", endpoint=endpoint, inconsistent_policy=policy
    )
    return campaign, judge, items
