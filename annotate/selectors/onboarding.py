"""Reads for onboarding: the consent text in force, what a participant still has to do.

Campaign.config keys read here:
- ``consent`` (object, optional): ``{"version": "2026-01", "text": "..."}``; without it
  the site consent below applies (settings.CHORUS_CONSENT_VERSION / _TEXT override it).
- ``completion_code`` (string, optional): shown when a participant finishes.
- ``completion_url`` (string, optional): a link back to the crowd platform, with
  ``{code}`` replaced by the completion code.
- ``participant_param`` / ``study_param`` (strings, default ``PROLIFIC_PID`` /
  ``STUDY_ID``): query parameters of the join URL carrying the external ids.
- ``listed`` (bool, default true): whether the home page lists the campaign (crowd
  studies reached only through their join URL set it to false).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from annotate.models import Annotator, Campaign, CampaignStatus, Consent

SITE_CONSENT_VERSION = "site-1"
_SITE_CONSENT_SOURCE = """\
You are invited to take part in a research study on how people judge answers written by
AI language models. You will read prompts and responses and say which you prefer, rank,
rate, edit or critique them. Some responses may be inaccurate or unpleasant; you can skip
any task.

We store your answers, the time you take, and the answers to a short profile survey
(age band, gender, country, language, education, and your views on AI assistants). We
never publish your name or username: exported data carries a random pseudonym only.
Every demographic question offers "Prefer not to say".

Taking part is voluntary. You may stop at any time without giving a reason, and you may
ask for your data to be deleted.

By clicking "I agree" you confirm you are 18 or older, have read this text, and agree to
take part."""
# One line per paragraph: the page turns single newlines into line breaks.
SITE_CONSENT_TEXT = "\n\n".join(" ".join(p.split()) for p in _SITE_CONSENT_SOURCE.split("\n\n"))

DEFAULT_PARTICIPANT_PARAM = "PROLIFIC_PID"
DEFAULT_STUDY_PARAM = "STUDY_ID"


@dataclass(frozen=True)
class ConsentDocument:
    version: str
    text: str
    sha256: str
    campaign: Campaign | None  # None: the site-wide consent


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def consent_document(*, campaign: Campaign | None) -> ConsentDocument:
    """The consent a participant must give for ``campaign`` (or the site, when None)."""
    config = (campaign.config or {}) if campaign is not None else {}
    custom = config.get("consent")
    if isinstance(custom, dict) and str(custom.get("text") or "").strip():
        text = str(custom["text"])
        version = str(custom.get("version") or "1")[:40]
        return ConsentDocument(version=version, text=text, sha256=_sha(text), campaign=campaign)
    text = getattr(settings, "CHORUS_CONSENT_TEXT", SITE_CONSENT_TEXT)
    version = getattr(settings, "CHORUS_CONSENT_VERSION", SITE_CONSENT_VERSION)
    return ConsentDocument(version=version, text=text, sha256=_sha(text), campaign=None)


def consent_has_given(*, annotator: Annotator, document: ConsentDocument) -> bool:
    """True when the annotator agreed to exactly this version and text."""
    return Consent.objects.filter(
        annotator=annotator,
        campaign=document.campaign,
        version=document.version,
        text_sha256=document.sha256,
    ).exists()


def campaigns_for_annotator(*, annotator: Annotator | None) -> QuerySet[Campaign]:
    """Open campaigns listed on the home page (plus any the annotator was admitted to)."""
    # has_key first: a missing key compares as NULL, and NOT NULL would hide the campaign.
    unlisted = Q(config__has_key="listed") & Q(config__listed=False)
    listed = Q(status=CampaignStatus.OPEN) & ~unlisted
    if annotator is not None:
        listed |= Q(status=CampaignStatus.OPEN, admissions__annotator=annotator)
    return Campaign.objects.filter(listed).distinct().order_by("name")


def completion_info(*, campaign: Campaign) -> dict[str, str]:
    config = campaign.config or {}
    code = str(config.get("completion_code") or "")
    url = str(config.get("completion_url") or "")
    if url and code:
        url = url.replace("{code}", code)
    return {"code": code, "url": url if url.startswith(("https://", "http://")) else ""}


def join_param_names(*, campaign: Campaign) -> tuple[str, str]:
    config = campaign.config or {}
    return (
        str(config.get("participant_param") or DEFAULT_PARTICIPANT_PARAM),
        str(config.get("study_param") or DEFAULT_STUDY_PARAM),
    )
