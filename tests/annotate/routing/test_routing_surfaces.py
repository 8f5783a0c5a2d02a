"""Routing as people reach it (issue 16): the dashboard's Routing tab and its button,
``manage.py route``, ``analytics --json``'s ``routing`` key, the Celery tasks."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.models import Item, ItemRoute, RoutedItem, RoutingPlan
from annotate.selectors.routing import routing_item_data
from annotate.services.analytics import analytics_snapshot_compute
from annotate.services.routing import RewardSignals, routing_plan_compute
from modelserve.learning.routing import reward_signals, routing_campaigns_due
from modelserve.learning.tasks import routing_refresh_due, routing_refresh_task
from tests.annotate.routing.sim import add_human_label, simulate
from tests.factories import AnnotatorFactory, CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():  # type: ignore[no-untyped-def]
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_routing_tab_shows_budget_share_and_gain(client) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(12, budget=4, seed=1)
    plan = routing_plan_compute(campaign=sim.campaign)
    for r in RoutedItem.objects.filter(plan=plan, route=ItemRoute.HUMAN)[:3]:
        add_human_label(Item.objects.get(pk=r.item_id), sim.human[r.item_id])
    analytics_snapshot_compute(campaign_id=sim.campaign.pk)
    client.force_login(UserFactory(is_staff=True))
    url = reverse("dashboard:campaign", args=[sim.campaign.slug])
    body = client.get(f"{url}?tab=routing").content.decode()
    assert 'data-tab="routing"' in body and "Routing to people or the AI judge" in body
    assert '<td data-key="budget_used">3</td>' in body
    assert '<span data-key="routed_human">4</span>' in body
    assert '<td data-key="share_human">0.333</td>' in body
    assert "v1 (manual" in body and "Predicted against realised gain" in body
    assert "3 items; mean predicted" in body and "<circle" in body
    assert "Recompute routing now" in body
    # Annotators get no dashboard.
    client.force_login(AnnotatorFactory().user)
    assert client.get(f"{url}?tab=routing").status_code == 403


def test_recompute_button_makes_a_plan_on_the_worker(  # type: ignore[no-untyped-def]
    client, eager_celery, django_capture_on_commit_callbacks
) -> None:
    sim = simulate(6, budget=2, seed=2)
    client.force_login(UserFactory(is_staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("dashboard:routing", args=[sim.campaign.slug]))
    assert answer.status_code == 200 and "New routing plan queued" in answer.content.decode()
    plan = RoutingPlan.objects.get(campaign=sim.campaign)
    assert plan.trigger == "manual" and plan.n_human == 2
    off = CampaignFactory()
    refused = client.post(reverse("dashboard:routing", args=[off.slug]))
    assert refused.status_code == 400 and "not enabled" in refused.content.decode()
    assert client.get(reverse("dashboard:routing", args=[sim.campaign.slug])).status_code == 405


def test_route_command_and_analytics_json() -> None:
    sim = simulate(6, budget=2, seed=3)
    out = StringIO()
    call_command("route", "--campaign", sim.campaign.slug, "--json", stdout=out)
    plan = json.loads(out.getvalue())
    assert plan["version"] == 1 and plan["n_human"] == 2 and plan["n_ai"] == 4
    assert plan["model_kind"] == "prior" and plan["reward_model"] == ""
    with pytest.raises(CommandError, match="No campaign"):
        call_command("route", "--campaign", "nope")
    with pytest.raises(CommandError, match="not enabled"):
        call_command("route", "--campaign", CampaignFactory().slug)
    out = StringIO()
    call_command("analytics", "--campaign", sim.campaign.slug, "--json", stdout=out)
    routing = json.loads(out.getvalue())["routing"]
    assert routing["enabled"] and routing["human_budget"] == 2
    assert routing["plan"]["version"] == 1 and routing["routed_ai"] == 4
    assert routing["budget_used"] == 0 and routing["gain"]["n"] == 0


def test_beat_task_refreshes_only_due_campaigns(eager_celery) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(4, budget=1, seed=4)
    CampaignFactory()  # routing off: never due
    assert routing_campaigns_due() == [sim.campaign]
    assert routing_refresh_due() == [sim.campaign.pk]  # runs the refresh eagerly
    assert RoutingPlan.objects.get(campaign=sim.campaign).trigger == "beat"
    assert routing_campaigns_due() == []  # fresh: not due for every_minutes
    result = routing_refresh_task(sim.campaign.pk)
    assert result["plan"] == 2
    assert routing_refresh_task(10**9) == {"campaign_id": 10**9, "plan": None}


def test_bad_routing_config_over_rest_is_a_400_naming_the_key() -> None:
    sim = simulate(2, budget=1, seed=5)
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    url = f"/api/v1/campaigns/{sim.campaign.slug}/configure/"
    for bad, key in (
        ({"enabled": True, "human_budget": "many"}, "routing.human_budget"),
        ({"enabled": True, "min_gain": 2}, "routing.min_gain"),
        ({"enabeld": True}, "routing.enabeld"),
    ):
        answer = api.patch(url, {"config": {"routing": bad}}, format="json")
        assert answer.status_code == 400 and key in answer.json()["config"], answer.content
    ok = api.patch(
        url, {"config": {"routing": {"enabled": True, "human_budget": 5}}}, format="json"
    )
    assert ok.status_code == 200, ok.content


def test_reward_signals_fall_back_without_a_reward_model_and_feed_the_plan() -> None:
    sim = simulate(6, budget=2, seed=6)
    data = routing_item_data(campaign=sim.campaign)
    assert reward_signals(campaign=sim.campaign, data=data) is None  # nothing promoted
    margin = np.linspace(0, 2, len(data))
    plan = routing_plan_compute(
        campaign=sim.campaign,
        data=data,
        reward=RewardSignals(margin=margin, uncertainty=1 - margin / 2, version="reward v3"),
    )
    assert plan.reward_model == "reward v3"
    assert "missing=reward_margin" not in plan.feature_names
    row = RoutedItem.objects.filter(plan=plan).order_by("item_id").first()
    assert row is not None
    assert row.features[plan.feature_names.index("reward_margin")] == 0.0
