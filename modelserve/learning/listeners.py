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

# Set for a while when a campaign has no reward refits, so that its submits skip the
# campaign query (issue 14: every submit ran it); saving the campaign drops it.
NO_WARM_S = 60


def _no_warm_key(campaign_id: int) -> str:
    return f"chorus:features-warm-off:{campaign_id}"


def labels_received(campaign_id: int, **kwargs: Any) -> None:
    if cache.get_many([warm_flag_key(campaign_id), _no_warm_key(campaign_id)]):
        return  # a warm-up is already scheduled, or the campaign has no reward refits
    campaign = campaign_by_id(campaign_id=campaign_id)
    if (
        campaign is not None
        and not reward_features_warm_request(campaign=campaign)
        and not cache.get(warm_flag_key(campaign_id))
    ):
        cache.set(_no_warm_key(campaign_id), 1, NO_WARM_S)


def campaign_saved(sender: Any, instance: Campaign, **kwargs: Any) -> None:
    cache.delete(_no_warm_key(instance.pk))
    if not kwargs.get("raw"):
        refit_schedule_follow(campaign=instance)


def connect() -> None:
    events.labels_received.connect(labels_received, dispatch_uid="modelserve_features_warm")
    post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="modelserve_refit_sync")
