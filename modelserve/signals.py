"""On-demand pool top-up: a leased item may have emptied a campaign's ready pool.

Hooked to Assignment creation (connected in ModelserveConfig.ready) rather than called
from the core assignment service, so the core flow stays free of model concerns. The
cache debounce keeps the hot path at one cache write per campaign per few seconds; only
then is the pool checked and the topper enqueued (after commit, on the generate queue).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
DEBOUNCE_S = 5


def assignment_created(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    campaign_id = instance.campaign_id
    try:
        if not cache.add(f"chorus:pool-topup:{campaign_id}", 1, timeout=DEBOUNCE_S):
            return
        from modelserve.models import ModelEndpoint

        if not ModelEndpoint.objects.filter(campaigns=campaign_id, enabled=True).exists():
            return
        transaction.on_commit(lambda: _enqueue(campaign_id))
    except Exception:  # a cache or database hiccup must never fail an annotator's lease
        logger.exception("could not request a pool top-up for campaign %s", campaign_id)


def _enqueue(campaign_id: int) -> None:
    from modelserve.tasks import generate_pool_topup

    try:
        generate_pool_topup.delay(campaign_id)
    except Exception:  # broker down: the beat-scheduled top-up catches up later
        logger.exception("could not enqueue a pool top-up for campaign %s", campaign_id)
