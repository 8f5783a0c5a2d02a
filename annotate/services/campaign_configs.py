"""Writes of campaign configs outside the ordinary edit path (campaign_update)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotate.campaign_config import validate_campaign_config
from annotate.models import Campaign


@transaction.atomic
def campaign_config_store_fixed(*, campaign: Campaign, config: dict[str, Any]) -> Campaign:
    """Store a repaired config (annotate.campaign_config.repair); it must pass the schema.

    Locks the campaign row."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    locked.config = validate_campaign_config(config)
    locked.save(update_fields=["config", "updated_at"])
    return locked
