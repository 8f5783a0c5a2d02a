"""Routing plans on the database (issue 16): the router beats random routing at the same
budget on a simulated campaign with known truth, the queue honours routes, bad settings
are refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.analytics.routing import route_random
from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.models import Annotation, Item, ItemRoute, RoutedItem, RoutingPlan, TaskType
from annotate.selectors.routing import routing_item_data, routing_report
from annotate.services import assignment_next
from annotate.services.routing import RoutingError, routing_plan_compute
from tests.annotate.routing.sim import add_human_label, simulate
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_router_beats_random_routing_at_the_same_budget() -> None:
    n_items, n_train, new = 120, 40, 20
    sim = simulate(n_items, budget=n_train + new, seed=3)
    for item in sim.items[:n_train]:  # people labelled these already: the training rows
        add_human_label(item, sim.human[item.pk])
    plan = routing_plan_compute(campaign=sim.campaign)

    assert plan.model_kind == "ridge" and plan.n_train == n_train
    assert plan.spent == n_train + new and plan.n_human == n_train + new
    routed = set(
        Item.objects.filter(campaign=sim.campaign, route=ItemRoute.HUMAN).values_list(
            "pk", flat=True
        )
    )
    candidates = [i.pk for i in sim.items[n_train:]]
    chosen = [i for i in candidates if i in routed]
    assert len(chosen) == new
    gain = sum(sim.true_gain(i) for i in chosen)
    # Random routing of the same budget over the same candidates, 200 draws.
    draws = [
        sum(
            sim.true_gain(candidates[k])
            for k in np.flatnonzero(route_random(len(candidates), new, s))
        )
        for s in range(200)
    ]
    assert gain > 1.5 * float(np.mean(draws)), (gain, np.mean(draws))
    assert gain > np.percentile(draws, 99)
    # The hard items (the judge contradicts people) are the ones people were given.
    assert np.mean([sim.hard[i] for i in chosen]) > 0.8


def test_first_plan_without_training_rows_uses_the_prior_and_spends_the_budget() -> None:
    sim = simulate(12, budget=4, seed=1)
    plan = routing_plan_compute(campaign=sim.campaign, trigger="command")
    assert plan.model_kind == "prior" and plan.version == 1 and plan.trigger == "command"
    assert (plan.n_human, plan.n_ai, plan.spent, plan.budget) == (4, 8, 4, 4)
    rows = RoutedItem.objects.filter(plan=plan)
    assert rows.count() == 12
    human = rows.filter(route=ItemRoute.HUMAN)
    ai_max = max(rows.filter(route=ItemRoute.AI).values_list("predicted_gain", flat=True))
    assert min(human.values_list("predicted_gain", flat=True)) >= ai_max
    # Routed items go first in the queue: priority 1 + predicted gain.
    for r in human:
        assert Item.objects.get(pk=r.item_id).priority == pytest.approx(1 + r.predicted_gain)
    assert routing_plan_compute(campaign=sim.campaign).version == 2


def test_queue_serves_routed_items_by_gain_and_never_items_sent_to_the_judge() -> None:
    sim = simulate(8, budget=3, seed=2)
    gold = ItemFactory(campaign=sim.campaign, is_gold=True)
    edit = ItemFactory(campaign=sim.campaign, task_type=TaskType.EDIT)
    routing_plan_compute(campaign=sim.campaign)
    by_gain = list(
        Item.objects.filter(campaign=sim.campaign, route=ItemRoute.HUMAN)
        .order_by("-priority", "pk")
        .values_list("pk", flat=True)
    )
    assert len(by_gain) == 3
    served = []
    for _ in range(10):
        lease = assignment_next(annotator=AnnotatorFactory(), campaign=sim.campaign)
        if lease is None:
            break
        served.append(lease.item_id)
    # Routed items first, best first; then the items routing does not decide.
    assert served[:3] == by_gain
    assert set(served[3:]) == {gold.pk, edit.pk}
    # Switched off: every open item is served again.
    sim.campaign.config = {"routing": {"enabled": False, "human_budget": 3}}
    sim.campaign.save(update_fields=["config"])
    assert assignment_next(annotator=AnnotatorFactory(), campaign=sim.campaign) is not None


def test_labelled_items_count_against_the_budget_and_keep_their_route() -> None:
    sim = simulate(10, budget=3, seed=4)
    for item in sim.items[:2]:
        add_human_label(item, 0)
    plan = routing_plan_compute(campaign=sim.campaign)
    assert plan.spent == 3 and plan.n_human == 3
    assert RoutedItem.objects.filter(plan=plan, labelled_before=True).count() == 2
    labelled = [i.pk for i in sim.items[:2]]
    assert set(Item.objects.filter(pk__in=labelled).values_list("route", flat=True)) == {
        ItemRoute.HUMAN
    }
    # Over budget already (the budget was lowered): nothing new goes to people.
    sim.campaign.config = {"routing": {"enabled": True, "human_budget": 1}}
    sim.campaign.save(update_fields=["config"])
    plan = routing_plan_compute(campaign=sim.campaign)
    assert plan.n_human == 2 and plan.spent == 2 and plan.threshold is None


def test_report_sets_predicted_against_realised_gain() -> None:
    sim = simulate(30, budget=10, seed=5)
    plan = routing_plan_compute(campaign=sim.campaign)
    routed = list(RoutedItem.objects.filter(plan=plan, route=ItemRoute.HUMAN))
    for r in routed:
        add_human_label(Item.objects.get(pk=r.item_id), sim.human[r.item_id])
    report = routing_report(campaign=sim.campaign)
    assert report["enabled"] and report["human_budget"] == 10
    assert report["budget_used"] == 10 and report["routed_human"] == 10
    assert report["share_human"] == pytest.approx(10 / 30)
    assert report["plan"]["version"] == plan.version and report["plan"]["model_kind"] == "prior"
    assert report["gain"]["n"] == 10 and len(report["points"]) == 10
    realised = sorted(sim.true_gain(r.item_id) for r in routed)
    assert sorted(p[1] for p in report["points"]) == pytest.approx(realised)
    data = routing_item_data(campaign=sim.campaign)
    assert np.isfinite(data.realised()).sum() == 10


def test_judge_signals_read_from_judgments() -> None:
    sim = simulate(20, budget=5, seed=6)
    data = routing_item_data(campaign=sim.campaign)
    flipped = 0
    for n, item_id in enumerate(data.item_ids):
        said = sim.judge_says[item_id]
        assert data.judge[n] == said
        if data.swap_consistent[n] == 1.0:
            assert data.judge_confidence[n] == (0.0 if said == 1 else 1.0)
        else:
            # A verdict flipped by the order: no AI label, read as a tie.
            assert data.judge_confidence[n] == 0.0 and said == 1
            flipped += 1
    assert flipped > 0


def test_bad_routing_settings_are_clear_errors() -> None:
    with pytest.raises(CampaignConfigError) as bad:
        validate_campaign_config({"routing": {"enabled": True, "human_budget": -1}})
    assert "routing.human_budget" in bad.value.errors
    with pytest.raises(CampaignConfigError) as typo:
        validate_campaign_config({"routing": {"human_budgett": 5}})
    assert "did you mean 'human_budget'" in str(typo.value)
    with pytest.raises(CampaignConfigError) as model:
        validate_campaign_config({"routing": {"model": "xgboost"}})
    assert "routing.model" in model.value.errors
    off = CampaignFactory()
    with pytest.raises(RoutingError, match="not enabled"):
        routing_plan_compute(campaign=off)
    assert not RoutingPlan.objects.exists()


def test_plan_hands_the_items_routed_to_the_ai_without_a_label_to_the_judges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulate(10, budget=3, seed=7)
    labelled = set(
        Annotation.all_sources.filter(campaign=sim.campaign, source="ai").values_list(
            "item_id", flat=True
        )
    )
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(
        "annotate.services.routing.judge_job_enqueue", lambda **kw: calls.append(kw)
    )
    plan = routing_plan_compute(campaign=sim.campaign)
    ai = set(
        RoutedItem.objects.filter(plan=plan, route=ItemRoute.AI).values_list("item_id", flat=True)
    )
    (call,) = calls
    assert call["campaign"] == sim.campaign
    # Exactly the AI-routed items the judge left without a label (its orders disagreed).
    assert ai - labelled and set(call["item_ids"]) == ai - labelled  # type: ignore[arg-type]
    sim.campaign.config = {"routing": {"enabled": True, "human_budget": 3, "judge_routed": False}}
    sim.campaign.save(update_fields=["config"])
    routing_plan_compute(campaign=sim.campaign)
    assert len(calls) == 1
