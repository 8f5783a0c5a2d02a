"""Celery tasks of the learning loop (discovered via ``config/celery.py``).

Names keep the ``modelserve.tasks.`` prefix so CELERY_TASK_ROUTES sends ``refit_*`` to the
"train" queue (a GPU worker consumes only that queue); ``schedule_refits`` is the cheap
beat-triggered check and stays on "default". Each task takes ids, re-checks state and
calls one service; running one twice is harmless (the run is claimed atomically).
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="modelserve.tasks.refit_run", acks_late=True, reject_on_worker_lost=True)
def refit_run(run_id: int) -> str:
    """Execute one queued TrainingRun (reward model or DPO)."""
    from modelserve.training_services import training_run_execute

    try:
        run = training_run_execute(run_id=run_id)
    except Exception:
        # The run row already says failed, with the traceback; a retry would fail the same.
        logger.exception("refit run %s failed", run_id)
        return "failed"
    return str(run.status)


@shared_task(name="modelserve.tasks.schedule_refits")
def schedule_refits(campaign_id: int) -> list[int]:
    """Beat entry point: start the refits that are due for one campaign."""
    from annotate.models import Campaign
    from modelserve.training_services import refits_start_due

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return []
    return [run.pk for run in refits_start_due(campaign=campaign)]


@shared_task(name="modelserve.tasks.train_features_warm", acks_late=True)
def train_features_warm(campaign_id: int) -> int:
    """Encode a campaign's newly labelled texts so the next reward refit only fits."""
    from annotate.models import Campaign
    from modelserve.features_warm import reward_features_warm

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    return reward_features_warm(campaign=campaign)
