"""Researcher access to campaigns (grants) and campaign configuration over the API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotate.exports.privacy import PrivacyConfigError, privacy_settings
from annotate.models import Campaign, CampaignGrant
from annotate.roles import RESEARCHER_GROUP, is_researcher
from annotate.services.errors import NotAResearcher

# Fields an admin may change on an existing campaign (slug and status have their own paths).
CAMPAIGN_EDITABLE = (
    "name",
    "description",
    "task_mix",
    "overlap",
    "lease_seconds",
    "rating_scale",
    "rating_attributes",
    "overall_attribute",
    "critique_categories",
    "config",
)


def campaign_grant_refusal(*, user: Any) -> str | None:
    """Why ``user`` cannot be granted a campaign (None: they can).

    Only researchers read granted campaigns (annotate.selectors.annotations
    .campaigns_visible_to), so a grant to anyone else would be silently useless.
    """
    if is_researcher(user):
        return None
    return (
        f"{user.get_username()} is not a researcher: add the user to the "
        f"{RESEARCHER_GROUP!r} group (admin: Users, then the user's Groups) and grant again."
    )


def campaign_grant_create(
    *, campaign: Campaign, user: Any, granted_by: Any
) -> tuple[CampaignGrant, bool]:
    """Grant ``user`` read access to ``campaign``: (grant, created).

    Idempotent: an existing grant is returned as it is (created False; its granted_by
    stays whoever granted first). Raises NotAResearcher for a user outside the
    researcher group.
    """
    refusal = campaign_grant_refusal(user=user)
    if refusal is not None:
        raise NotAResearcher(refusal)
    try:
        with transaction.atomic():
            return CampaignGrant.objects.get_or_create(
                campaign=campaign, user=user, defaults={"granted_by": granted_by}
            )
    except IntegrityError:  # two admins granting at once: the other one won
        return CampaignGrant.objects.get(campaign=campaign, user=user), False


def campaign_grant_revoke(*, grant: CampaignGrant) -> None:
    grant.delete()


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields: Any) -> Campaign:
    """Change configuration; validated by ``Campaign.clean`` and the privacy reader.

    Raises ValidationError with per-field messages. Locks the campaign row.
    """
    unknown = set(fields) - set(CAMPAIGN_EDITABLE)
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in sorted(unknown)})
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    try:
        privacy_settings(locked.config)
    except PrivacyConfigError as exc:
        raise ValidationError({"config": str(exc)}) from exc
    locked.save(update_fields=[*fields, "updated_at"])
    return locked
