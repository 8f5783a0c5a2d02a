"""Reads for the PRISM-style export (survey and conversation files): the rows that are
per annotator or per conversation, not per label (annotate.selectors.exports has those)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from annotate.exports.privacy import PrivacySettings, suppress
from annotate.models import Campaign, Conversation, TaskType

from .exports import export_publishable, export_queryset


def prism_survey_rows(
    *,
    campaign: Campaign,
    filters: dict[str, Any],
    privacy: PrivacySettings,
    max_id: int | None,
) -> Iterator[dict[str, Any]]:
    """One row per (annotator, profile version) that labelled in this export."""
    publishable = export_publishable(
        campaign=campaign, filters=filters, privacy=privacy, max_id=max_id
    )
    fields = privacy.profile_fields
    rows = (
        export_queryset(campaign=campaign, filters=filters, max_id=max_id)
        .values_list(
            "annotator__pseudonym",
            "profile_version__version",
            *[f"profile_version__{f}" for f in fields],
        )
        .distinct()
        .order_by("annotator__pseudonym", "profile_version__version")
    )
    for pseudonym, version, *values in rows:
        profile = dict(zip(fields, values, strict=True)) if version is not None else None
        yield {
            "annotator_id": pseudonym,
            "profile_version": version,
            **suppress(profile, privacy, publishable),
        }


def prism_conversations(*, campaign: Campaign, conversation_ids: set[int]) -> dict[int, Any]:
    """Conversation metadata for the PRISM conversations file (one query)."""
    return {
        c["id"]: c
        for c in Conversation.objects.filter(campaign=campaign, id__in=conversation_ids).values(
            "id", "source", "created_by__annotator__pseudonym"
        )
    }


CONVERSATION_TASK = TaskType.CONVERSATION
