"""Which profile fields leave the system (``config["privacy"]``), read by
annotate/exports/privacy.py."""

from __future__ import annotations

from pydantic import Field

from annotate.exports.privacy import DEFAULT_K, DEFAULT_PROFILE_FIELDS

from .base import ProfileField, Section


class Privacy(Section):
    key = "privacy"
    title = "Privacy of exports"
    read_by = "annotate/exports/privacy.py"
    admin_keys = ("k_anonymity",)

    profile_fields: list[ProfileField] = Field(
        default_factory=lambda: list(DEFAULT_PROFILE_FIELDS),
        description="The only profile fields exports, API answers and filters may use.",
    )
    k_anonymity: int = Field(
        DEFAULT_K,
        ge=1,
        le=1000,
        description="A categorical value is published only when at least k annotators of "
        "the export share it. 1: off.",
    )
