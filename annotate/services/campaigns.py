"""Writes for campaigns and their guidelines."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from annotate.models import Campaign, CampaignStatus, GuidelineVersion


@transaction.atomic
def campaign_create(
    *,
    slug: str,
    name: str,
    guidelines: str = "",
    created_by: User | None = None,
    **fields: Any,
) -> Campaign:
    """Create a campaign (validated by ``Campaign.clean``) and its first guidelines."""
    campaign = Campaign(slug=slug, name=name, created_by=created_by, **fields)
    campaign.full_clean()
    campaign.save()
    if guidelines:
        guideline_publish(campaign=campaign, text=guidelines, created_by=created_by)
    return campaign


def campaign_set_status(*, campaign: Campaign, status: str) -> Campaign:
    if status not in CampaignStatus.values:
        raise ValueError(f"Unknown status {status!r}")
    campaign.status = status
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@transaction.atomic
def guideline_publish(
    *, campaign: Campaign, text: str, created_by: User | None = None
) -> GuidelineVersion:
    """Append a guideline version. Locks the campaign row so versions never collide."""
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    latest = campaign.guidelines.aggregate(v=Max("version"))["v"] or 0
    return GuidelineVersion.objects.create(
        campaign=campaign, version=latest + 1, text=text, created_by=created_by
    )
