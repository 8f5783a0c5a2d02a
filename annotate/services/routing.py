"""Routing plans (issue 16, HyPER-style): which items people label, which the AI judge.

``routing_plan_compute`` (the one entry point; the beat task, the dashboard button and
``manage.py route`` all call it through modelserve/learning/routing.py, which adds the
reward model's signals):

1. features per routable item (annotate.analytics.routing_features) from the database
   (annotate.selectors.routing) and the reward model's margin and uncertainty if given;
2. the gain model (annotate.analytics.routing.fit_gain_model) fit on items that have
   both a human and a judge label, target = what the human label changed
   (routing.realised_gain); with none yet, a prior stands in (``_prior_gain``);
3. under the items' row locks: items people already labelled or hold a lease on stay
   with people and count against ``human_budget``; open items fill what is left in
   decreasing predicted gain (routing.route_by_budget) and get ``priority = 1 + gain``
   so the queue serves them first; the rest go to the judge;
4. the plan and every item's prediction are stored (RoutingPlan, RoutedItem), and after
   commit the judge is started on items routed to it that it has not labelled.

Locks: the campaign row FOR NO KEY UPDATE (one plan at a time, versions in order),
then the campaign's routable items in id order. Leases lock one item (after the
annotator), submits lock an item only after its assignment, so nothing waits the other
way round: no deadlock. A lease that waited for the plan's lock re-checks ``route``
(PostgreSQL re-evaluates the WHERE clause of a locked row), so no lease can slip past the budget.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.db import transaction
from django.db.models import Max

from annotate.analytics.routing import GainModel, fit_gain_model, route_by_budget
from annotate.analytics.routing_features import feature_matrix, item_signals
from annotate.campaign_config import section_values
from annotate.campaign_config.routing import Routing
from annotate.models import (
    Annotation,
    AnnotationSource,
    Campaign,
    Item,
    ItemRoute,
    ItemStatus,
    Judge,
    RoutedItem,
    RoutingPlan,
)
from annotate.models.routing import ROUTABLE_TASK_TYPES
from annotate.selectors.routing import RoutingData, routing_item_data
from annotate.services.analytics import analytics_snapshot_request
from annotate.services.judges import judge_job_enqueue
from annotate.tasks_util import enqueue

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
# The Celery task (modelserve/learning/tasks.py: it adds the reward model's signals),
# enqueued by name so the core flow does not import model serving.
ROUTING_REFRESH = "modelserve.tasks.routing_refresh"


class RoutingError(ValueError):
    """A plan cannot be made (routing off, a bad setting); the message says why."""


@dataclass(frozen=True)
class RewardSignals:
    """The serving reward model's view of each item, aligned with RoutingData.item_ids."""

    margin: FloatArray  # |score(first) - score(second)|
    uncertainty: FloatArray  # 1 - |2 p - 1|, p = sigmoid(score difference)
    version: str = ""


def routing_features(
    data: RoutingData, reward: RewardSignals | None = None
) -> tuple[FloatArray, list[str]]:
    """The gain model's matrix (routing_features.feature_matrix) for ``data``'s items."""
    languages = sorted(set(data.languages))
    code = {lang: i for i, lang in enumerate(languages)}
    signals = item_signals(
        data.prompts,
        data.responses_a,
        data.responses_b,
        judge_confidence=data.judge_confidence,
        swap_consistent=data.swap_consistent,
        reward_margin=None if reward is None else reward.margin,
        reward_uncertainty=None if reward is None else reward.uncertainty,
        language=[code[lang] for lang in data.languages],
    )
    return feature_matrix(signals, languages)


def _prior_gain(x: FloatArray, names: list[str]) -> FloatArray:
    """Before any item has both labels: the mean of the uncertainty signals known for an
    item (1 - judge confidence, 1 - swap consistency, the reward model's uncertainty),
    each in [0, 1]; 0.5 where none is known. People see the items the machines are least
    sure of first, which are also the rows the gain model learns most from."""
    cols = []
    for name, flip in (
        ("judge_confidence", True),
        ("swap_consistent", True),
        ("reward_uncertainty", False),
    ):
        col = x[:, names.index(name)]
        cols.append(1.0 - col if flip else col)
    stacked = np.column_stack(cols)
    known = np.isfinite(stacked).any(axis=1)
    mean = np.nanmean(np.where(np.isfinite(stacked), stacked, np.nan), axis=1, keepdims=False)
    return np.where(known, mean, 0.5).astype(np.float64)


def _predict(
    data: RoutingData, reward: RewardSignals | None, cfg: Routing
) -> tuple[FloatArray, GainModel | None, FloatArray, list[str]]:
    x, names = routing_features(data, reward)
    y = data.realised()
    if len(data) and np.isfinite(y).any():
        model = fit_gain_model(x, y, names, kind=cfg.model)
        return model.predict(x), model, x, names
    with np.errstate(invalid="ignore"):  # all-NaN rows: nanmean warns, the prior fills
        return _prior_gain(x, names), None, x, names


def routing_plan_compute(
    *,
    campaign: Campaign,
    reward: RewardSignals | None = None,
    data: RoutingData | None = None,
    trigger: str = "manual",
) -> RoutingPlan:
    """Compute and apply a new routing plan (see the module docstring for the steps and
    locks). Raises RoutingError when the campaign's routing is not enabled."""
    cfg = section_values(campaign.config, Routing)
    assert isinstance(cfg, Routing)
    if not cfg.enabled:
        raise RoutingError(f"routing is not enabled for campaign {campaign.slug}")
    started = time.perf_counter()
    data = data if data is not None else routing_item_data(campaign=campaign)
    if reward is not None and len(reward.margin) != len(data):
        raise RoutingError("reward signals must have one value per routable item")
    predicted, model, x, names = _predict(data, reward, cfg)
    plan = _apply(campaign, cfg, data, predicted, model, x, names, reward, trigger)
    plan.duration_ms = int((time.perf_counter() - started) * 1000)
    plan.save(update_fields=["duration_ms"])
    if cfg.judge_routed:
        _judge_routed(plan)
    # The dashboard and analytics read the routing figures from the snapshot.
    analytics_snapshot_request(campaign_id=campaign.pk, immediate=True)
    return plan


def routing_plan_request(*, campaign: Campaign, trigger: str = "manual") -> None:
    """Ask a worker for a new plan (after the caller's transaction commits)."""
    transaction.on_commit(lambda: enqueue(ROUTING_REFRESH, campaign.pk, trigger))


@transaction.atomic
def _apply(
    campaign: Campaign,
    cfg: Routing,
    data: RoutingData,
    predicted: FloatArray,
    model: GainModel | None,
    x: FloatArray,
    names: list[str],
    reward: RewardSignals | None,
    trigger: str,
) -> RoutingPlan:
    # FOR NO KEY UPDATE: serialises planners without blocking the FOR KEY SHARE that
    # every lease and submit takes on the campaign row when it inserts a row pointing at
    # it (FOR UPDATE would: the plan waits on an item a lease holds while that lease
    # waits on the campaign, a deadlock).
    Campaign.objects.select_for_update(no_key=True).only("pk").get(pk=campaign.pk)
    version = (
        RoutingPlan.objects.filter(campaign=campaign).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    # Read under the lock: a lease that committed before counts as spent; one that has
    # not started yet will see the new routes.
    locked = list(
        Item.objects.select_for_update()
        .filter(
            campaign=campaign,
            task_type__in=ROUTABLE_TASK_TYPES,
            is_gold=False,
            is_attention_check=False,
        )
        .order_by("pk")
        .values_list("pk", "slots_taken", "n_submitted", "status", "route")
    )
    row_of = {item_id: n for n, item_id in enumerate(data.item_ids)}
    engaged = {i for i, slots, done, *_ in locked if slots > 0 or done > 0}
    was = {i: current for i, *_, current in locked}
    open_ids = [
        i
        for i, slots, done, status, _ in locked
        if status == ItemStatus.OPEN and slots == 0 and done == 0 and i in row_of
    ]
    left = max(0, cfg.human_budget - len(engaged))
    gains = predicted[[row_of[i] for i in open_ids]] if open_ids else np.zeros(0)
    routed = route_by_budget(gains, left, min_gain=cfg.min_gain)
    to_human = {open_ids[p] for p in routed.queue}
    route = {
        i: ItemRoute.HUMAN if i in engaged or i in to_human else ItemRoute.AI for i, *_ in locked
    }
    # Newly routed items go first in the queue, highest predicted gain first; the
    # others keep their priority (active sampling or an import may have set it).
    Item.objects.bulk_update(
        [
            Item(pk=i, route=ItemRoute.HUMAN, priority=1.0 + float(predicted[row_of[i]]))
            for i in sorted(to_human)
        ],
        ["route", "priority"],
        batch_size=1000,
    )
    Item.objects.bulk_update(
        [Item(pk=i, route=r) for i, r in route.items() if i not in to_human and was[i] != r],
        ["route"],
        batch_size=1000,
    )
    n_human = sum(1 for r in route.values() if r == ItemRoute.HUMAN)
    plan = RoutingPlan.objects.create(
        campaign=campaign,
        version=version,
        trigger=trigger[:16],
        model_kind=model.kind if model is not None else "prior",
        model=model.summary() if model is not None else {"kind": "prior"},
        feature_names=names,
        n_train=model.n_train if model is not None else 0,
        budget=cfg.human_budget,
        spent=len(engaged) + len(to_human),
        n_items=len(route),
        n_human=n_human,
        n_ai=len(route) - n_human,
        threshold=routed.threshold,
        reward_model=reward.version[:200] if reward is not None else "",
    )
    RoutedItem.objects.bulk_create(
        [
            RoutedItem(
                plan=plan,
                item_id=item_id,
                route=r,
                predicted_gain=_finite(predicted[row_of[item_id]]) if item_id in row_of else None,
                labelled_before=item_id in engaged,
                features=[_finite(v) for v in x[row_of[item_id]]] if item_id in row_of else [],
            )
            for item_id, r in route.items()
        ],
        batch_size=1000,
    )
    return plan


def _finite(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


def _judge_routed(plan: RoutingPlan) -> None:
    """Start the campaign's enabled judges on the items routed to them that they have not
    labelled (the job runs after commit; a lost message is sent again by the next plan)."""
    if not Judge.objects.filter(campaign_id=plan.campaign_id, enabled=True).exists():
        return
    labelled = Annotation.all_sources.filter(
        campaign_id=plan.campaign_id, source=AnnotationSource.AI
    ).values("item_id")
    todo = list(
        RoutedItem.objects.filter(plan=plan, route=ItemRoute.AI)
        .exclude(item_id__in=labelled)
        .values_list("item_id", flat=True)
    )
    if todo:
        judge_job_enqueue(campaign=plan.campaign, item_ids=todo)
