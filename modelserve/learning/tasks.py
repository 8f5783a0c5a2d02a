"""Celery tasks of the learning loop (found by ``config/celery.py``'s autodiscovery).

Names keep the ``modelserve.tasks.`` prefix (queued messages and beat's PeriodicTask rows
carry them): CELERY_TASK_ROUTES sends ``refit_*`` and ``train_*`` to the "train" queue (a
GPU worker consumes only that queue); ``schedule_refits`` is the cheap beat-triggered
check and stays on "default". Each task takes ids, re-checks state and calls one service;
running one twice is harmless (the run is claimed atomically).
"""

from __future__ import annotations

import logging

from celery import shared_task

from annotate.services.routing import ROUTING_REFRESH, RoutingError
from modelserve.learning.features import TRAIN_FEATURES_WARM, reward_features_warm
from modelserve.learning.refits import REFIT_RUN, refits_start_due, training_run_execute
from modelserve.learning.routing import (
    ROUTING_REFRESH_DUE,
    routing_campaigns_due,
    routing_refresh,
)
from modelserve.learning.scheduling import PERIODIC_TASK
from modelserve.learning.selectors import campaign_by_id

logger = logging.getLogger(__name__)


@shared_task(name=REFIT_RUN, acks_late=True, reject_on_worker_lost=True)
def refit_run(run_id: int) -> str:
    """Execute one queued TrainingRun (reward model or DPO)."""
    try:
        run = training_run_execute(run_id=run_id)
    except Exception:
        # The run row already says failed, with the traceback; a retry would fail the same.
        logger.exception("refit run %s failed", run_id)
        return "failed"
    return str(run.status)


@shared_task(name=PERIODIC_TASK)
def schedule_refits(campaign_id: int) -> list[int]:
    """Beat entry point: start the refits that are due for one campaign."""
    campaign = campaign_by_id(campaign_id=campaign_id)
    if campaign is None:
        return []
    return [run.pk for run in refits_start_due(campaign=campaign)]


@shared_task(name=TRAIN_FEATURES_WARM, acks_late=True)
def train_features_warm(campaign_id: int) -> int:
    """Encode a campaign's newly labelled texts so the next reward refit only fits."""
    campaign = campaign_by_id(campaign_id=campaign_id)
    if campaign is None:
        return 0
    return reward_features_warm(campaign=campaign)


@shared_task(name=ROUTING_REFRESH, acks_late=True)
def routing_refresh_task(campaign_id: int, trigger: str = "manual") -> dict[str, object]:
    """Recompute one campaign's routing plan (issue 16). Safe to run twice: each run
    makes a complete plan under the campaign's lock; the newest one is in force."""
    campaign = campaign_by_id(campaign_id=campaign_id)
    if campaign is None:
        return {"campaign_id": campaign_id, "plan": None}
    try:
        plan = routing_refresh(campaign=campaign, trigger=trigger)
    except RoutingError as exc:  # routing was switched off since the request
        return {"campaign_id": campaign_id, "plan": None, "error": str(exc)}
    return {"campaign_id": campaign_id, "plan": plan.version, "n_human": plan.n_human}


@shared_task(name=ROUTING_REFRESH_DUE)
def routing_refresh_due() -> list[int]:
    """Beat entry point: recompute the plans that are older than their campaign's
    ``routing.every_minutes``, each as its own task."""
    due = routing_campaigns_due()
    for campaign in due:
        routing_refresh_task.delay(campaign.pk, "beat")
    return [c.pk for c in due]
