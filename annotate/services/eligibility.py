"""Who may join a campaign: eligibility rules and demographic quotas.

Campaign.config keys read here:
- ``eligibility`` (object, optional): ``{profile_field: [allowed values]}``, e.g.
  ``{"residence_country": ["GB", "US"], "age_band": ["25-34", "35-44"]}``. A participant
  whose current profile has another value (for ``use_cases``, no allowed value at all)
  is not eligible.
- ``quotas`` (object, optional): ``{"fields": ["residence_country", "age_band"],
  "cells": {"GB|25-34": 10, ...}}``. A cell key is the participant's values of
  ``fields`` joined by ``|``; its number is how many participants that cell admits. A
  cell not listed admits nobody. A full cell stops admitting NEW participants; those
  already admitted keep working (their admission row is kept, whatever they edit later).

Admission is recorded once per (campaign, annotator) in ``CampaignAdmission``; quota
counts read those rows. ``campaign_admit`` locks the campaign row while it counts, so two
participants arriving together cannot both take the last place in a cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext

from annotate import events
from annotate.models import Annotator, Campaign, CampaignAdmission, ProfileVersion

from .errors import ServiceError

CELL_SEPARATOR = "|"


class NotEligible(ServiceError):
    """The participant's profile is outside the campaign's eligibility rules."""


class QuotaFull(ServiceError):
    """The participant's demographic cell has no places left (or is not recruited)."""


class ProfileRequired(ServiceError):
    """Eligibility or quotas need a profile and the participant has none yet."""


def quota_full_message() -> str:
    """The sentence a participant from a full cell reads (in the active language)."""
    return gettext(
        "Thank you for your interest. This study has all the participants "
        "it needs from your group, so there are no tasks for you here."
    )


def _profile_value(profile: ProfileVersion, field: str) -> Any:
    return getattr(profile, field, None)


def campaign_needs_profile(*, campaign: Campaign) -> bool:
    config = campaign.config or {}
    return bool(config.get("eligibility") or config.get("quotas"))


def eligibility_check(*, campaign: Campaign, profile: ProfileVersion) -> str | None:
    """Return why ``profile`` may not join ``campaign`` (a sentence), or None if it may."""
    return _eligibility_reason(campaign, lambda field: _profile_value(profile, field))


def _eligibility_reason(campaign: Campaign, value_of: Callable[[str], Any]) -> str | None:
    rules = (campaign.config or {}).get("eligibility") or {}
    if not isinstance(rules, dict):
        return None
    for field, allowed in rules.items():
        if not isinstance(allowed, list) or not allowed:
            continue
        allowed_set = {str(a) for a in allowed}
        value = value_of(field)
        if isinstance(value, list):
            ok = bool(allowed_set & {str(v) for v in value})
        else:
            ok = value is not None and str(value) in allowed_set
        if not ok:
            return gettext("This study is looking for participants with a different profile.")
    return None


def quota_fields(*, campaign: Campaign) -> list[str]:
    quotas = (campaign.config or {}).get("quotas") or {}
    fields = quotas.get("fields") if isinstance(quotas, dict) else None
    return [str(f) for f in fields] if isinstance(fields, list) else []


def quota_cell(*, campaign: Campaign, profile: ProfileVersion) -> str:
    """The participant's cell key ("GB|25-34"), or "" when the campaign has no quotas."""
    fields = quota_fields(campaign=campaign)
    return CELL_SEPARATOR.join(str(_profile_value(profile, f) or "") for f in fields)


def screening_fields(*, campaign: Campaign) -> list[str]:
    """The profile questions the screener asks first: the eligibility rules' fields,
    then the quotas' (each once). Empty: the campaign screens nobody."""
    rules = (campaign.config or {}).get("eligibility") or {}
    fields = list(rules) if isinstance(rules, dict) else []
    return list(dict.fromkeys([*fields, *quota_fields(campaign=campaign)]))


def screening_refusal(*, campaign: Campaign, answers: Mapping[str, Any]) -> str | None:
    """Why these screener answers turn the participant away, else None.

    Eligibility, then the quota cell: a cell that is full now refuses at once. The count
    takes no lock and reserves nothing; ``campaign_admit`` counts again under the
    campaign lock once the profile is saved, so the cell can still fill meanwhile (the
    participant is then turned away there, the same way).
    """
    reason = _eligibility_reason(campaign, answers.get)
    if reason:
        return reason
    fields = quota_fields(campaign=campaign)
    if not fields:
        return None
    cell = CELL_SEPARATOR.join(str(answers.get(f) or "") for f in fields)
    target = quota_targets(campaign=campaign).get(cell, 0)
    if CampaignAdmission.objects.filter(campaign=campaign, cell=cell).count() >= target:
        return quota_full_message()
    return None


def quota_targets(*, campaign: Campaign) -> dict[str, int]:
    quotas = (campaign.config or {}).get("quotas") or {}
    cells = quotas.get("cells") if isinstance(quotas, dict) else None
    if not isinstance(cells, dict):
        return {}
    out: dict[str, int] = {}
    for key, value in cells.items():
        try:
            out[str(key)] = max(0, int(value))
        except (TypeError, ValueError):
            out[str(key)] = 0
    return out


def quota_status(*, campaign: Campaign) -> dict[str, dict[str, int]]:
    """{cell: {"target": n, "filled": m}} for every configured cell (and any admitted one)."""
    targets = quota_targets(campaign=campaign)
    filled = dict(
        CampaignAdmission.objects.filter(campaign=campaign)
        .values("cell")
        .annotate(n=Count("id"))
        .values_list("cell", "n")
    )
    cells = set(targets) | ({c for c in filled if c} if quota_fields(campaign=campaign) else set())
    return {
        cell: {"target": targets.get(cell, 0), "filled": int(filled.get(cell, 0))}
        for cell in sorted(cells)
    }


def admission_get(*, campaign: Campaign, annotator: Annotator) -> CampaignAdmission | None:
    return CampaignAdmission.objects.filter(campaign=campaign, annotator=annotator).first()


def campaign_admit(*, campaign: Campaign, annotator: Annotator) -> CampaignAdmission:
    """Admit ``annotator`` to ``campaign`` once; later calls return the same admission.

    Raises ProfileRequired, NotEligible or QuotaFull (messages are safe to show).
    Locks: the campaign row, while the cell is counted and the admission written.
    """
    existing = admission_get(campaign=campaign, annotator=annotator)
    if existing is not None:
        return existing
    profile = annotator.current_profile
    if campaign_needs_profile(campaign=campaign):
        if profile is None:
            raise ProfileRequired(gettext("Please fill in your profile first."))
        reason = eligibility_check(campaign=campaign, profile=profile)
        if reason:
            raise NotEligible(reason)
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        existing = admission_get(campaign=campaign, annotator=annotator)
        if existing is not None:
            return existing
        cell = ""
        if quota_fields(campaign=campaign) and profile is not None:
            cell = quota_cell(campaign=campaign, profile=profile)
            target = quota_targets(campaign=campaign).get(cell, 0)
            taken = CampaignAdmission.objects.filter(campaign=campaign, cell=cell).count()
            if taken >= target:
                raise QuotaFull(quota_full_message())
        admission = CampaignAdmission.objects.create(
            campaign=campaign, annotator=annotator, cell=cell, profile_version=profile
        )
        if cell and taken + 1 >= target:
            # This admission took the cell's last place (under the campaign lock: once).
            events.send_on_commit(events.quota_cell_full, campaign_id=campaign.pk, cell=cell)
        return admission
