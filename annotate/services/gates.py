"""The campaign gate's memory: which campaigns an annotator already passed (issue 14).

Opening a campaign's work page checks, in order: consent, profile, pause, eligibility
and quota (annotate.views.tasks). Consent and admission (eligibility and quota decide
admission once, and an admitted participant stays admitted: annotate.services.
eligibility) cost a query each; once both passed they are remembered per annotator in
the shared cache (Redis in production, files under var/ in embedded mode), as the
consent document they passed with (version and text hash).

Only passes are remembered: a refusal is checked again on every request, so a quota
raised or a consent given counts at once. A pass is forgotten when anything it rests
on changes: a consent record saved or deleted, an admission saved or deleted (signals,
so admin edits and scripts count too), and a campaign whose consent text or version
changed no longer matches the remembered document. Profile and pause are read from the
annotator's own row on every request, never from here.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from annotate.models import Annotator, Campaign, CampaignAdmission, Consent
from annotate.selectors.onboarding import ConsentDocument

GATE_CACHE_S = 15 * 60


def _key(annotator_id: int) -> str:
    return f"chorus:gate:{annotator_id}"


def _fingerprint(document: ConsentDocument) -> str:
    return f"{document.version}:{document.sha256}"


def gate_passed(*, annotator: Annotator, campaign: Campaign, document: ConsentDocument) -> bool:
    """True when this annotator passed consent and admission for ``campaign`` with this
    consent document (one cache read, no query)."""
    passed = cache.get(_key(annotator.pk)) or {}
    return passed.get(campaign.pk) == _fingerprint(document)


def gate_remember(*, annotator: Annotator, campaign: Campaign, document: ConsentDocument) -> None:
    passed = cache.get(_key(annotator.pk)) or {}
    passed[campaign.pk] = _fingerprint(document)
    cache.set(_key(annotator.pk), passed, GATE_CACHE_S)


def gate_forget(*, annotator_id: int) -> None:
    cache.delete(_key(annotator_id))


def _changed(sender: Any, instance: Consent | CampaignAdmission, **kwargs: Any) -> None:
    gate_forget(annotator_id=instance.annotator_id)


def connect() -> None:
    for model in (Consent, CampaignAdmission):
        post_save.connect(_changed, sender=model, dispatch_uid=f"gate-saved-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"gate-deleted-{model.__name__}")
