"""What the learning loop does when something happens elsewhere; connected by
``connect()`` from ``ModelserveConfig.ready()``.

- Labels arrived (``annotate.events.labels_received``): schedule a debounced warm-up of
  the reward model's text features, so a refit only fits the head.
- A campaign was saved: keep its beat entry in step with ``config["refit"]``, whoever
  saved it (the REST configure endpoint, the admin, a script).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_save

from annotate import events
from annotate.models import Campaign
from modelserve.learning.features import reward_features_warm_request, warm_flag_key
from modelserve.learning.scheduling import refit_schedule_follow
from modelserve.learning.selectors import campaign_by_id


def labels_received(campaign_id: int, **kwargs: Any) -> None:
    if cache.get(warm_flag_key(campaign_id)) is not None:
        return  # a warm-up is already scheduled for this window: skip the campaign query
    campaign = campaign_by_id(campaign_id=campaign_id)
    if campaign is not None:
        reward_features_warm_request(campaign=campaign)


def campaign_saved(sender: Any, instance: Campaign, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        refit_schedule_follow(campaign=instance)


def connect() -> None:
    events.labels_received.connect(labels_received, dispatch_uid="modelserve_features_warm")
    post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="modelserve_refit_sync")
