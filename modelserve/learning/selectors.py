"""Reads of the learning loop: refit bookkeeping, what a campaign serves, the history of
versions and runs, and the versions a user may see over the API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotate.models import Annotation, Campaign
from annotate.roles import is_admin
from annotate.selectors.annotations import campaigns_visible_to
from modelserve.learning.models import (
    CampaignServing,
    PolicyVersion,
    RewardModelVersion,
    RunStatus,
    TrainingRun,
)
from modelserve.learning.snapshots import TRAINABLE_TASK_TYPES


def label_cutoff(*, campaign: Campaign, kind: str) -> int:
    """The newest annotation id the last finished (promoted or gated) run of ``kind`` saw.
    Failed runs do not count: their labels are still new."""
    run = (
        TrainingRun.objects.filter(
            campaign=campaign, kind=kind, status__in=[RunStatus.SUCCEEDED, RunStatus.GATED]
        )
        .order_by("-created_at")
        .first()
    )
    return int(run.config.get("data_cutoff", 0)) if run else 0


def new_label_count(*, campaign: Campaign, kind: str) -> int:
    return Annotation.objects.filter(
        campaign=campaign,
        task_type__in=TRAINABLE_TASK_TYPES,
        pk__gt=label_cutoff(campaign=campaign, kind=kind),
    ).count()


def serving_current(*, campaign: Campaign) -> CampaignServing | None:
    return (
        CampaignServing.objects.filter(campaign=campaign)
        .select_related("policy", "reward_model")
        .first()
    )


def runs_for_campaign(*, campaign: Campaign) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(campaign=campaign).order_by("-created_at")


def version_history(*, campaign: Campaign) -> dict[str, list[Any]]:
    return {
        "policies": list(PolicyVersion.objects.filter(campaign=campaign).order_by("-version")),
        "reward_models": list(
            RewardModelVersion.objects.filter(campaign=campaign).order_by("-version")
        ),
    }


def versions_visible_to(
    *,
    user: Any,
    model: type[PolicyVersion] | type[RewardModelVersion],
    campaign_slug: str = "",
) -> QuerySet[Any]:
    """Admins: every version. Researchers: versions of the campaigns they are granted."""
    qs = model.objects.select_related("campaign")
    if not is_admin(user):
        qs = qs.filter(campaign__in=campaigns_visible_to(user).values("pk"))
    if campaign_slug:
        qs = qs.filter(campaign__slug=campaign_slug)
    return qs


def campaign_by_id(*, campaign_id: int) -> Campaign | None:
    """The campaign, or None if it was deleted since a task was queued for it."""
    return Campaign.objects.filter(pk=campaign_id).first()
