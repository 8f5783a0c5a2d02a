"""A simulated routed campaign with known truth: items, a judge's verdicts in both orders,
its AI labels, and human labels on request (issue 16 routing tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    AssignmentStatus,
    Campaign,
    Item,
    ItemResponse,
    Judge,
    Judgment,
)
from annotate.services.judges import judge_create, judge_prompt_current
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory, ModelEndpointFactory

CHOICE = {0: "A", 1: "tie", 2: "B"}  # canonical category -> choice shown in order AB


def canonical(item: Item) -> list[int]:
    return list(
        ItemResponse.objects.filter(item=item)
        .order_by("position")
        .values_list("response_id", flat=True)
    )


def _payload(item: Item, category: int) -> dict[str, object]:
    a, b = canonical(item)
    chosen, rejected = {0: (a, b), 1: (None, None), 2: (b, a)}[category]
    return {
        "choice": CHOICE[category],
        "strength": None,
        "reason": "",
        "response_ids": [a, b],
        "chosen": chosen,
        "rejected": rejected,
    }


def add_human_label(item: Item, category: int) -> Annotation:
    """A submitted human label (its own annotator), counters kept as the services do."""
    annotator = AnnotatorFactory()
    a, b = canonical(item)
    assignment = Assignment.objects.create(
        item=item,
        annotator=annotator,
        campaign=item.campaign,
        presented_order=[a, b],
        status=AssignmentStatus.SUBMITTED,
        lease_expires_at=item.created_at,
    )
    Item.objects.filter(pk=item.pk).update(slots_taken=1, n_submitted=1)
    return Annotation.objects.create(
        assignment=assignment,
        item=item,
        campaign=item.campaign,
        annotator=annotator,
        task_type=item.task_type,
        payload=_payload(item, category),
    )


def add_judge_verdicts(judge: Judge, item: Item, ab: int, ba: int) -> int:
    """The judge's two verdicts (canonical categories) and the AI label they add up to
    under the default policy (only consistent verdicts count: none when they differ).
    Returns the judge's category as routing reads it (a tie when there is no label)."""
    prompt = judge_prompt_current(judge=judge, task_type="pairwise")
    assert prompt is not None
    for order, category in (("AB", ab), ("BA", ba)):
        shown = category if order == "AB" or category == 1 else 2 - category
        Judgment.objects.create(
            judge=judge,
            item=item,
            judge_prompt=prompt,
            prompt_version=prompt.version,
            order=order,
            raw_output=CHOICE[shown],
            parsed=CHOICE[shown],
            parse_status="ok",
            parse_ok=True,
        )
    if ab != ba:
        return 1
    Annotation.all_sources.create(
        item=item,
        campaign=item.campaign,
        annotator=judge.annotator,
        task_type=item.task_type,
        payload=_payload(item, ab),
        source=AnnotationSource.AI,
        judge=judge,
        judge_prompt_version=prompt.version,
    )
    return ab


@dataclass
class SimCampaign:
    campaign: Campaign
    judge: Judge
    items: list[Item]
    human: dict[int, int] = field(default_factory=dict)  # item id -> true human category
    judge_says: dict[int, int] = field(default_factory=dict)
    hard: dict[int, bool] = field(default_factory=dict)

    def true_gain(self, item_id: int) -> float:
        t = {0: 1.0, 1: 0.5, 2: 0.0}
        return abs(t[self.human[item_id]] - t[self.judge_says[item_id]])


def simulate(
    n_items: int, *, budget: int, seed: int = 0, p_hard: float = 0.35, overlap: int = 1
) -> SimCampaign:
    """Hard items: the judge contradicts people 75% of the time and flips with the order
    70% of the time; easy ones: 5% and 5%. Routing on, with ``budget``."""
    rng = np.random.default_rng(seed)
    campaign = CampaignFactory(
        overlap=overlap, config={"routing": {"enabled": True, "human_budget": budget}}
    )
    judge = judge_create(campaign=campaign, name="sim", endpoint=ModelEndpointFactory())
    sim = SimCampaign(campaign=campaign, judge=judge, items=[])
    for _ in range(n_items):
        item = ItemFactory(campaign=campaign)
        hard = bool(rng.random() < p_hard)
        human = int(rng.choice([0, 1, 2], p=[0.45, 0.1, 0.45]))
        wrong = rng.random() < (0.75 if hard else 0.05)
        said = (2 - human if human != 1 else int(rng.choice([0, 2]))) if wrong else human
        flips = rng.random() < (0.7 if hard else 0.05)
        label = add_judge_verdicts(judge, item, said, 2 - said if flips and said != 1 else said)
        sim.items.append(item)
        sim.human[item.pk], sim.judge_says[item.pk], sim.hard[item.pk] = human, label, hard
    return sim
