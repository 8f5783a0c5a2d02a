"""Reads of campaign grants (admins manage them over the API)."""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.models import CampaignGrant


def grants_list(*, campaign_slug: str = "") -> QuerySet[CampaignGrant]:
    """Every grant (of one campaign if given), with campaign and users joined."""
    qs = CampaignGrant.objects.select_related("campaign", "user", "granted_by")
    if campaign_slug:
        qs = qs.filter(campaign__slug=campaign_slug)
    return qs


def grant_get(*, grant_id: int) -> CampaignGrant | None:
    return CampaignGrant.objects.filter(pk=grant_id).first()
