"""Helpers for the annotator-experience tests (views, quality, eligibility, browser)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from annotate.models import Annotator, Campaign, Consent, TaskType
from annotate.selectors.onboarding import consent_document
from tests.factories import (
    AnnotatorFactory,
    CampaignFactory,
    GuidelineFactory,
    ItemFactory,
    ProfileVersionFactory,
)

PROFILE_POST: dict[str, Any] = {
    "age_band": "25-34",
    "gender": "female",
    "gender_self_describe": "",
    "birth_country": "GB",
    "residence_country": "GB",
    "first_language": "English",
    "english_proficiency": "native",
    "education": "university",
    "employment": "full_time",
    "marital_status": "single",
    "ethnicity": "white",
    "ethnicity_self_describe": "",
    "religion": "none",
    "religion_self_describe": "",
    "ai_familiarity": "somewhat",
    "ai_frequency": "weekly",
    "use_cases": ["writing", "coding"],
    "pref_values": "40",
    "pref_creativity": "60",
    "pref_fluency": "70",
    "pref_factuality": "90",
    "pref_diversity": "30",
    "pref_safety": "80",
    "pref_personalisation": "20",
    "pref_helpfulness": "95",
    "self_description": "I value honesty and kindness.",
    "system_prompt": "Be brief and cite sources.",
}


def give_consent(annotator: Annotator, campaign: Campaign | None = None) -> Consent:
    doc = consent_document(campaign=campaign)
    return Consent.objects.create(
        annotator=annotator, campaign=doc.campaign, version=doc.version, text_sha256=doc.sha256
    )


def onboarded_annotator(**profile: Any) -> Annotator:
    """An annotator who consented (site consent) and has a current profile."""
    annotator = AnnotatorFactory()
    give_consent(annotator)
    version = ProfileVersionFactory(annotator=annotator, **profile)
    annotator.current_profile = version
    annotator.save(update_fields=["current_profile"])
    return annotator


def client_for(annotator: Annotator, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(annotator.user)
    return client


def campaign_with(task_type: str = TaskType.PAIRWISE, n_items: int = 1, **fields: Any) -> Campaign:
    campaign = CampaignFactory(**fields)
    GuidelineFactory(campaign=campaign, text="Prefer honest answers.")
    for _ in range(n_items):
        ItemFactory(campaign=campaign, task_type=task_type)
    return campaign


HX = {"HTTP_HX_REQUEST": "true"}
