"""Refit settings (``Campaign.config["refit"]``) and the per-campaign beat schedule.

Keys of ``Campaign.config["refit"]`` (all optional; editable in the admin on the
campaign's "Serving and refits" page, or as JSON in the campaign's config):

- ``enabled`` (bool, default false): keep a django-celery-beat periodic task for the campaign.
- ``every_minutes`` (int >= 1, default 60): how often beat checks whether a refit is due.
- ``min_new_labels`` (int >= 1, default 50): a kind is refit only when at least this many
  trainable labels arrived since its last finished run.
- ``kinds`` (list, default ["reward", "dpo"]): what the schedule refits, in this order
  (the reward model first, so the DPO run is scored by the fresh reward model).
- ``group_by`` (profile field, default "age_band"): groups for per-group RM accuracy.
- ``val_fraction`` (default 0.1) and ``split_seed`` (default 0): the split by prompt.
- ``include_reference_labels`` (bool, default false): also train on imported reference
  preferences (HH-RLHF's own labels), e.g. to bootstrap a campaign.
- ``reward`` / ``dpo`` (objects): overrides of RewardConfig / DPOConfig fields.
- ``gates`` (object): ``reward_min_val_accuracy`` (0.5), ``reward_max_accuracy_drop`` (0.0,
  against the serving reward model scored on the same validation pairs),
  ``dpo_max_ranking_accuracy_drop`` (0.02, against the reference policy on the same
  held-out pairs), ``dpo_max_kl`` (null: no limit; KL(reference || policy) along the
  reference's samples of held-out prompts, see modelserve.training.dpo_eval).
- ``keep_previous_policies`` (bool, default false): leave earlier refit policies in the
  generation pool when a new one is promoted.
- ``active_sampling`` (bool, default false): after a reward model is promoted, set
  ``Item.priority`` of open pairwise items to the model's uncertainty.
- ``max_run_minutes`` (default 360): a run "running" longer than this is presumed dead
  (its worker was killed) and marked failed, which frees the campaign's refit lock.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.models import Campaign

# The Celery task beat runs (see modelserve.learning.tasks); the name is stored in
# PeriodicTask rows, so it never changes.
PERIODIC_TASK = "modelserve.tasks.schedule_refits"
KINDS = ("reward", "dpo")

DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "every_minutes": 60,
    "min_new_labels": 50,
    "kinds": list(KINDS),
    "group_by": "age_band",
    "val_fraction": 0.1,
    "split_seed": 0,
    "include_reference_labels": False,
    "reward": {},
    "dpo": {},
    "gates": {
        "reward_min_val_accuracy": 0.5,
        "reward_max_accuracy_drop": 0.0,
        "dpo_max_ranking_accuracy_drop": 0.02,
        "dpo_max_kl": None,
    },
    "keep_previous_policies": False,
    "active_sampling": False,
    "max_run_minutes": 360,
}


def refit_config(campaign: Campaign) -> dict[str, Any]:
    raw = (campaign.config or {}).get("refit") or {}
    out = copy.deepcopy(DEFAULTS)
    for key, value in raw.items():
        if key == "gates" and isinstance(value, dict):
            out["gates"].update(value)
        else:
            out[key] = value
    return out


def validate_refit_config(raw: Any) -> dict[str, Any]:
    """Check a ``refit`` object against the typed campaign config (annotate.campaign_config,
    section Refit); raises ValidationError whose messages name each bad key."""
    try:
        return validate_campaign_config({"refit": raw})["refit"]
    except CampaignConfigError as exc:
        raise ValidationError(exc.messages) from None


def schedule_name(campaign: Campaign) -> str:
    return f"chorus-refit:{campaign.slug}"


@transaction.atomic
def refit_schedule_sync(*, campaign: Campaign) -> Any:
    """Create, update or disable the campaign's periodic refit check to match its config.

    Returns the PeriodicTask (or None when refits are off and none existed)."""
    cfg = refit_config(campaign)
    name = schedule_name(campaign)
    existing = PeriodicTask.objects.filter(name=name).first()
    if not cfg["enabled"]:
        if existing is not None and existing.enabled:
            existing.enabled = False
            existing.save(update_fields=["enabled"])
        return existing
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=int(cfg["every_minutes"]), period=IntervalSchedule.MINUTES
    )
    kwargs = json.dumps({"campaign_id": campaign.pk})
    if existing is None:
        return PeriodicTask.objects.create(
            name=name,
            task=PERIODIC_TASK,
            interval=interval,
            kwargs=kwargs,
            enabled=True,
            description=f"Refit check for campaign {campaign.slug}",
        )
    existing.interval = interval
    existing.task = PERIODIC_TASK
    existing.kwargs = kwargs
    existing.enabled = True
    existing.save()
    return existing


@transaction.atomic
def refit_settings_update(*, campaign: Campaign, **changes: Any) -> Campaign:
    """Merge ``changes`` into ``Campaign.config["refit"]`` and resync the beat schedule.

    Locks the campaign row so two admins editing at once do not lose each other's keys."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    config = dict(locked.config or {})
    refit = dict(config.get("refit") or {})
    refit.update(changes)
    config["refit"] = validate_refit_config(refit)
    locked.config = config
    locked.save(update_fields=["config", "updated_at"])
    campaign.config = config
    refit_schedule_sync(campaign=locked)
    return locked


def refit_schedule_follow(*, campaign: Campaign) -> None:
    """After a campaign is saved (by anyone: the API, the admin, a script), resync its beat
    entry once the save commits, if it has refit settings or an entry already."""
    has_refit = bool((campaign.config or {}).get("refit"))
    if has_refit or PeriodicTask.objects.filter(name=schedule_name(campaign)).exists():
        transaction.on_commit(lambda: refit_schedule_sync(campaign=campaign))
