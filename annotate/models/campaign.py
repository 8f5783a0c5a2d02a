"""Campaigns, their versioned guidelines and the researchers granted access to them."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.i18n.texts import TextsError, campaign_language_config_clean
from config.jsonutil import JSONEncoder

from .choices import (
    DEFAULT_CRITIQUE_CATEGORIES,
    DEFAULT_RATING_ATTRIBUTES,
    CampaignStatus,
    RatingScale,
    TaskType,
)


def _default_task_mix() -> dict[str, float]:
    return {TaskType.PAIRWISE: 1.0}


def _default_rating_attributes() -> list[str]:
    return list(DEFAULT_RATING_ATTRIBUTES)


def _default_critique_categories() -> list[str]:
    return list(DEFAULT_CRITIQUE_CATEGORIES)


def new_join_secret() -> str:
    """A campaign's crowd-link secret: 256 random bits (annotate.services.crowd_links)."""
    return secrets.token_urlsafe(32)


class Campaign(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    # Relative weight of each task type when items are generated or served, e.g.
    # {"pairwise": 2, "rating": 1}. Only keys of TaskType are allowed (clean()).
    task_mix = models.JSONField(default=_default_task_mix, encoder=JSONEncoder)
    # Annotators per item. Copied onto each item at creation so a later change does not
    # retroactively over- or under-fill items already in flight.
    overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    lease_seconds = models.PositiveIntegerField(
        default=900, validators=[MinValueValidator(30), MaxValueValidator(86400)]
    )
    rating_scale = models.CharField(
        max_length=16, choices=RatingScale.choices, default=RatingScale.LIKERT7
    )
    rating_attributes = models.JSONField(default=_default_rating_attributes, encoder=JSONEncoder)
    # The attribute analytics treats as the overall judgment of a response.
    overall_attribute = models.CharField(max_length=40, default="helpfulness")
    critique_categories = models.JSONField(
        default=_default_critique_categories, encoder=JSONEncoder
    )
    # Quality control and anything else a later feature configures lives here, so adding
    # a knob does not need a migration; every key is typed and documented in
    # annotate/campaign_config (clean() validates it; the README table is made from it).
    config = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    # Signs crowd join links (HMAC of the participant id): a participant id alone is not a
    # credential. Never in an API answer; admins see links built with it, and rotate it.
    join_secret = models.CharField(max_length=64, default=new_join_secret, editable=False)
    # When every item got all its labels (campaign.done event); cleared when work is added.
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        mix = self.task_mix
        if not isinstance(mix, dict) or not mix:
            errors["task_mix"] = "Give at least one task type with a positive weight."
        else:
            unknown = set(mix) - set(TaskType.values)
            if unknown:
                errors["task_mix"] = f"Unknown task types: {', '.join(sorted(unknown))}."
            elif any(not isinstance(w, int | float) or w < 0 for w in mix.values()):
                errors["task_mix"] = "Weights must be non-negative numbers."
            elif sum(mix.values()) <= 0:
                errors["task_mix"] = "At least one weight must be positive."
        attrs = self.rating_attributes
        if (
            not isinstance(attrs, list)
            or not attrs
            or not all(isinstance(a, str) and a for a in attrs)
        ):
            errors["rating_attributes"] = "Give a non-empty list of attribute names."
        elif self.overall_attribute not in attrs:
            errors["overall_attribute"] = "The overall attribute must be one of the rated ones."
        cats = self.critique_categories
        if not isinstance(cats, list) or not all(isinstance(c, str) and c for c in cats):
            errors["critique_categories"] = "Give a list of category names."
        try:
            # The typed schema (annotate.campaign_config): every writer comes through here.
            self.config = validate_campaign_config(self.config)
        except CampaignConfigError as exc:
            errors["config"] = exc.messages
        else:
            try:
                # Across keys: consent.texts must have the default language's text.
                campaign_language_config_clean(self.config)
            except TextsError as exc:
                errors["config"] = str(exc)
        if errors:
            raise ValidationError(errors)

    @property
    def is_open(self) -> bool:
        return self.status == CampaignStatus.OPEN

    @property
    def default_language(self) -> str:
        """The language its guidelines and consent text are written in first (issue 17):
        ``config["default_language"]``, else the site's. Texts in other languages are
        translations; a page in a language without one shows this one."""
        value = (
            (self.config or {}).get("default_language") if isinstance(self.config, dict) else None
        )
        return str(value) if value else settings.LANGUAGE_CODE

    @property
    def rating_range(self) -> tuple[int, int]:
        return (1, 7) if self.rating_scale == RatingScale.LIKERT7 else (1, 100)


class GuidelineVersion(models.Model):
    """Guidelines are append-only: labels point at the version the annotator saw.

    A version is one text in several languages (issue 17): one row per (version,
    language), published together, so version 3 says the same thing in each of them. A
    label points at the row shown, i.e. at both the version and its language.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    language = models.CharField(max_length=12, default="en")
    text = models.TextField(help_text="Markdown-ish plain text shown to annotators.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["campaign", "-version", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "version", "language"], name="guideline_unique_version_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign.slug} guidelines v{self.version} ({self.language})"


class CampaignGrant(models.Model):
    """A researcher may read a campaign's data only through a grant."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="grant_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.campaign.slug}"
