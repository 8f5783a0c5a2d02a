"""What generation does when something happens elsewhere; connected by ``connect()`` from
``ModelserveConfig.ready()``.

- A new lease (Assignment created) may drain a campaign's pre-generated pool: ask for a
  debounced top-up. Hooked to the model signal rather than called by the core assignment
  service, so the core flow stays free of model concerns.
- A Celery pool process starts: warm the default model (``warmup.worker_process_warm``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_init
from django.db.models.signals import post_save

from annotate.models import Assignment
from modelserve.generation.pool import pool_topup_soon
from modelserve.generation.warmup import worker_process_warm

logger = logging.getLogger(__name__)
DEBOUNCE_S = 5


def assignment_created(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    try:
        pool_topup_soon(campaign_id=instance.campaign_id, debounce_s=DEBOUNCE_S)
    except Exception:  # a cache or database hiccup must never fail an annotator's lease
        logger.exception("could not request a pool top-up for campaign %s", instance.campaign_id)


def _warm(**kwargs: Any) -> None:
    worker_process_warm(**kwargs)


def connect() -> None:
    post_save.connect(assignment_created, sender=Assignment, dispatch_uid="modelserve_pool_topup")
    # Every prefork pool process on the "generate" queue loads the default model at start
    # (CHORUS_WARM_MODELS=0 turns it off).
    worker_process_init.connect(_warm, dispatch_uid="chorus_warm_models", weak=False)
