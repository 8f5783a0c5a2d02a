"""Reads of annotators for researchers: who labelled in a campaign, with only the profile
fields the campaign publishes, and k-anonymity applied (a value held by fewer than k of
the campaign's annotators is None)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from annotate.exports.privacy import PrivacySettings, publishable_values, suppress
from annotate.models import Annotator, Campaign


def annotator_profiles(
    *, campaign: Campaign, privacy: PrivacySettings, limit: int
) -> list[dict[str, Any]]:
    """One row per annotator with labels in ``campaign`` (by pseudonym, at most ``limit``):
    pseudonymous id, label count, profile version, deleted flag and the published profile
    (None for an annotator without one). One query."""
    fields = [f"current_profile__{f}" for f in privacy.profile_fields]
    rows = list(
        # A join, not a manager: filter on the source here (AI judges are annotators too).
        Annotator.objects.filter(annotations__campaign=campaign, annotations__source="human")
        .annotate(
            n=Count(
                "annotations",
                filter=Q(annotations__campaign=campaign, annotations__source="human"),
            )
        )
        .order_by("pseudonym")
        .values("pseudonym", "n", "deleted_at", "current_profile__version", *fields)[:limit]
    )
    profiles = [
        (
            r["pseudonym"],
            {f: r[f"current_profile__{f}"] for f in privacy.profile_fields}
            if r["current_profile__version"] is not None
            else None,
        )
        for r in rows
    ]
    allowed = publishable_values(((p, prof) for p, prof in profiles if prof), privacy)
    return [
        {
            "annotator_id": r["pseudonym"],
            "n_annotations": r["n"],
            "profile_version": r["current_profile__version"],
            "deleted": r["deleted_at"] is not None,
            "profile": suppress(prof, privacy, allowed),
        }
        for r, (_, prof) in zip(rows, profiles, strict=True)
    ]
