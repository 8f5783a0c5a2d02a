"""Checking configs already stored (written before the typed schema): what can be fixed
safely, and what a person must look at. Used by the data migration and by
``manage.py campaign_config --check``.

Safe fixes only: a top-level key set to null is dropped (every reader treats null as
unset), and values pydantic can coerce without loss are coerced ("3" -> 3, 1 -> 1.0).
Anything else (an unknown key, a value out of range) is reported and left as it is: the
admin then shows the problem beside the field when the campaign is next edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schema import CampaignConfigError, validate_campaign_config


@dataclass(frozen=True)
class ConfigRepair:
    config: Any  # the config to store (unchanged when nothing could be fixed)
    changed: bool
    problems: dict[str, str] = field(default_factory=dict)  # what is still wrong


def config_repair(raw: Any) -> ConfigRepair:
    try:
        clean = validate_campaign_config(raw)
        return ConfigRepair(clean, clean != raw)
    except CampaignConfigError as exc:
        first = exc.errors
    if not isinstance(raw, dict):
        return ConfigRepair(raw, False, first)
    candidate = {k: v for k, v in raw.items() if v is not None}
    try:
        fixed = validate_campaign_config(validate_campaign_config(candidate, strict=False))
    except CampaignConfigError as exc:
        return ConfigRepair(raw, False, exc.errors)
    return ConfigRepair(fixed, True)


def repair_report(slug: str, repair: ConfigRepair) -> str | None:
    """One line for the migration's or the command's output (None: nothing to say)."""
    if repair.problems:
        listed = "; ".join(f"{k}: {v}" for k, v in repair.problems.items())
        return f"campaign {slug}: config NOT fixed, please edit it in the admin: {listed}"
    if repair.changed:
        return f"campaign {slug}: config normalised to the typed schema"
    return None
