"""Routing plans with the reward model's view (issue 16): the modelserve side of
annotate.services.routing.

The plan itself is annotate's (features, gain model, budget, queue); this module adds
the serving reward model's margin and uncertainty per item, which only modelserve can
compute, and is what the beat task, the dashboard's button (through the task) and
``manage.py route`` call. Without a promoted reward model, or when it cannot be loaded,
the plan is made without those two features (they are NaN: the gain model's
``missing=`` columns say so).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.utils import timezone

from annotate.campaign_config import section_values
from annotate.campaign_config.routing import Routing, routing_enabled
from annotate.models import Campaign, CampaignStatus, RoutingPlan
from annotate.selectors.routing import RoutingData, routing_item_data, routing_plan_latest
from annotate.services.routing import RewardSignals, routing_plan_compute
from modelserve.learning.features import feature_cache_dir
from modelserve.learning.selectors import serving_current

logger = logging.getLogger(__name__)
ROUTING_REFRESH_DUE = "modelserve.tasks.routing_refresh_due"


def reward_signals(*, campaign: Campaign, data: RoutingData) -> RewardSignals | None:
    """The serving reward model's |margin| and uncertainty 1 - |2p - 1| per item (p its
    P(first response preferred)); None when the campaign serves no reward model or it
    cannot score (a missing folder must not stop routing)."""
    serving = serving_current(campaign=campaign)
    if serving is None or serving.reward_model is None or not len(data):
        return None
    try:
        # Heavy, optional: torch, loaded only in the worker that scores.
        from modelserve.training.reward import RewardScorer

        scorer = RewardScorer(
            Path(serving.reward_model.artifact_dir), cache_dir=feature_cache_dir()
        )
        a = scorer.score(data.prompts, data.responses_a).astype(np.float64)
        b = scorer.score(data.prompts, data.responses_b).astype(np.float64)
    except Exception:
        logger.exception("routing: reward model %s could not score", serving.reward_model)
        return None
    p = 1.0 / (1.0 + np.exp(-(a - b)))
    # Only items with two responses have a pair to score.
    pair = np.array([bool(t) for t in data.responses_b])
    return RewardSignals(
        margin=np.where(pair, np.abs(a - b), np.nan),
        uncertainty=np.where(pair, 1.0 - np.abs(2.0 * p - 1.0), np.nan),
        version=str(serving.reward_model),
    )


def routing_refresh(*, campaign: Campaign, trigger: str = "manual") -> RoutingPlan:
    """A new routing plan for ``campaign`` with the reward model's signals if it has one.
    Raises annotate.services.routing.RoutingError when routing is off."""
    data = routing_item_data(campaign=campaign)
    reward = (
        reward_signals(campaign=campaign, data=data) if routing_enabled(campaign.config) else None
    )
    return routing_plan_compute(campaign=campaign, reward=reward, data=data, trigger=trigger)


def routing_campaigns_due() -> list[Campaign]:
    """Open campaigns with routing on whose newest plan is older than their
    ``routing.every_minutes`` (or that have none)."""
    now = timezone.now()
    due = []
    for campaign in Campaign.objects.filter(
        status=CampaignStatus.OPEN, config__routing__enabled=True
    ):
        cfg = section_values(campaign.config, Routing)
        assert isinstance(cfg, Routing)
        latest = routing_plan_latest(campaign=campaign)
        if latest is None or latest.created_at <= now - timedelta(minutes=cfg.every_minutes):
            due.append(campaign)
    return due
