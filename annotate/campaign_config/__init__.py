"""The typed campaign config (issue 13): one pydantic schema for every key of
``Campaign.config``, one section per concern (annotate/campaign_config/*.py), composed in
``schema.SECTIONS``. See schema.py for validation, docs.py for the README reference."""

from annotate.campaign_config.base import Part, Section
from annotate.campaign_config.schema import (
    SECTIONS,
    CampaignConfigError,
    owners,
    section_values,
    validate_campaign_config,
)

__all__ = [
    "SECTIONS",
    "CampaignConfigError",
    "Part",
    "Section",
    "owners",
    "section_values",
    "validate_campaign_config",
]
