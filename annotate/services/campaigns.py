"""Writes for campaigns and their guidelines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from annotate.i18n.texts import TextsError, texts_by_language_clean
from annotate.models import Campaign, CampaignStatus, GuidelineVersion


@transaction.atomic
def campaign_create(
    *,
    slug: str,
    name: str,
    guidelines: str | Mapping[str, str] = "",
    created_by: User | None = None,
    **fields: Any,
) -> Campaign:
    """Create a campaign (validated by ``Campaign.clean``) and its first guidelines.

    ``guidelines``: a text in the campaign's default language, or {language: text} with
    that language among them (issue 17). Raises ValidationError, and writes nothing, for
    a bad campaign or bad guidelines.
    """
    campaign = Campaign(slug=slug, name=name, created_by=created_by, **fields)
    campaign.full_clean()
    campaign.save()
    if isinstance(guidelines, Mapping):
        if guidelines:
            guideline_publish(campaign=campaign, texts=guidelines, created_by=created_by)
    elif guidelines:
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
    *,
    campaign: Campaign,
    text: str = "",
    texts: Mapping[str, str] | None = None,
    created_by: User | None = None,
) -> GuidelineVersion:
    """Append a guideline version and return its row in the campaign's default language.

    ``text`` is that language's text; ``texts`` ({language: text}) adds translations of
    the same version, or gives every text when ``text`` is empty (it must then include
    the default language). Raises ValidationError for an unknown language or a missing
    default text, and writes nothing then. Locks the campaign row so versions never
    collide.
    """
    default = campaign.default_language
    given = dict(texts or {})
    if text:
        given[default] = text
    try:
        clean = texts_by_language_clean(given, default_language=default, field="guidelines")
    except TextsError as exc:
        raise ValidationError({"guidelines": str(exc)}) from exc
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    version = (campaign.guidelines.aggregate(v=Max("version"))["v"] or 0) + 1
    rows = GuidelineVersion.objects.bulk_create(
        GuidelineVersion(
            campaign=campaign, version=version, language=code, text=body, created_by=created_by
        )
        for code, body in clean.items()
    )
    return next(row for row in rows if row.language == default)
