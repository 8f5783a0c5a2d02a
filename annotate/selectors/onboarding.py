"""Reads for onboarding: the consent text in force, what a participant still has to do.

Campaign.config keys read here:
- ``consent`` (object, optional): ``{"version": "2026-01", "text": "...", "texts":
  {"fr": "...", "ar": "..."}}``: ``text`` in the campaign's default language
  (``default_language``, default the site's), ``texts`` its translations; a participant
  reads the one in their language, else ``text``. Without it the site consent below
  applies, in every UI language (settings.CHORUS_CONSENT_VERSION / _TEXT override it;
  a text set there is shown as it is, in every language).
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
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from annotate.i18n.languages import language_supported
from annotate.models import Annotator, Campaign, CampaignStatus, Consent

SITE_CONSENT_VERSION = "site-1"
# One paragraph per message, so each is translated whole (annotate/i18n, locale/).
SITE_CONSENT_PARAGRAPHS = [
    gettext_noop(
        "You are invited to take part in a research study on how people judge answers "
        "written by AI language models. You will read prompts and responses and say which "
        "you prefer, rank, rate, edit or critique them. Some responses may be inaccurate or "
        "unpleasant; you can skip any task."
    ),
    gettext_noop(
        "We store your answers, the time you take, and the answers to a short profile "
        "survey (age band, gender, country, language, education, and your views on AI "
        "assistants). We never publish your name or username: exported data carries a "
        'random pseudonym only. Every demographic question offers "Prefer not to say".'
    ),
    gettext_noop(
        "Taking part is voluntary. You may stop at any time without giving a reason, and "
        "you may ask for your data to be deleted."
    ),
    gettext_noop(
        'By clicking "I agree" you confirm you are 18 or older, have read this text, and '
        "agree to take part."
    ),
]
# The English text (the page turns single newlines into line breaks).
SITE_CONSENT_TEXT = "\n\n".join(SITE_CONSENT_PARAGRAPHS)

DEFAULT_PARTICIPANT_PARAM = "PROLIFIC_PID"
DEFAULT_STUDY_PARAM = "STUDY_ID"


@dataclass(frozen=True)
class ConsentDocument:
    version: str
    text: str
    sha256: str
    campaign: Campaign | None  # None: the site-wide consent
    # The language of ``text``: the one asked for, or the default it fell back to.
    language: str = "en"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _site_text(language: str) -> tuple[str, str]:
    """(text, language) of the site consent; a text set in the settings has one language."""
    custom = getattr(settings, "CHORUS_CONSENT_TEXT", None)
    if custom is not None:
        return str(custom), settings.LANGUAGE_CODE
    with translation.override(language):
        return "\n\n".join(gettext(p) for p in SITE_CONSENT_PARAGRAPHS), language


def _campaign_text(custom: dict[str, Any], campaign: Campaign, language: str) -> tuple[str, str]:
    """(text, language) of a campaign's consent: its text in ``language`` when
    ``consent.texts`` has one, else ``consent.text`` in the campaign's default language."""
    texts = custom.get("texts") if isinstance(custom.get("texts"), dict) else {}
    for code, text in (texts or {}).items():
        if language_supported(str(code)) == language and str(text or "").strip():
            return str(text), language
    default = campaign.default_language
    if str(custom.get("text") or "").strip():
        return str(custom["text"]), default
    return str((texts or {}).get(default) or ""), default


def consent_document(*, campaign: Campaign | None, language: str | None = None) -> ConsentDocument:
    """The consent a participant must give for ``campaign`` (or the site, when None), in
    ``language`` (default: the active one) or, without a text in it, the default one."""
    language = language_supported(language or translation.get_language()) or (
        settings.LANGUAGE_CODE
    )
    config = (campaign.config or {}) if campaign is not None else {}
    custom = config.get("consent")
    if (
        campaign is not None
        and isinstance(custom, dict)
        and (str(custom.get("text") or "").strip() or custom.get("texts"))
    ):
        text, shown = _campaign_text(custom, campaign, language)
        if text.strip():
            version = str(custom.get("version") or "1")[:40]
            return ConsentDocument(
                version=version, text=text, sha256=_sha(text), campaign=campaign, language=shown
            )
    text, shown = _site_text(language)
    version = getattr(settings, "CHORUS_CONSENT_VERSION", SITE_CONSENT_VERSION)
    return ConsentDocument(
        version=version, text=text, sha256=_sha(text), campaign=None, language=shown
    )


def consent_has_given(*, annotator: Annotator, document: ConsentDocument) -> bool:
    """True when the annotator agreed to this version of the text, in whichever language
    they read it (the hash is checked against the text in that language)."""
    given = (
        Consent.objects.filter(
            annotator=annotator, campaign=document.campaign, version=document.version
        )
        .only("text_sha256", "language")
        .first()
    )
    if given is None:
        return False
    if given.language == document.language:
        return given.text_sha256 == document.sha256
    read = consent_document(campaign=document.campaign, language=given.language)
    return (
        read.campaign == document.campaign
        and read.version == document.version
        and read.language == given.language
        and given.text_sha256 == read.sha256
    )


def annotator_ui_language(*, user_id: int) -> str:
    """The interface language an account's annotator chose ("" when none, or no annotator)."""
    found = Annotator.objects.filter(user_id=user_id).values_list("ui_language", flat=True)
    return next(iter(found), "") or ""


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


def completion_redirect_url(*, campaign: Campaign) -> str:
    """The crowd platform's completion URL to send a finished participant to, or ""
    when the campaign shows its code and a link instead (completion_redirect)."""
    if not (campaign.config or {}).get("completion_redirect"):
        return ""
    return completion_info(campaign=campaign)["url"]


def screen_out_url(*, campaign: Campaign) -> str:
    """Where a participant the screener turns away goes ("" = no platform configured)."""
    config = campaign.config or {}
    url = str(config.get("screen_out_url") or "")
    url = url.replace("{code}", str(config.get("screen_out_code") or ""))
    return url if url.startswith(("https://", "http://")) else ""


def join_param_names(*, campaign: Campaign) -> tuple[str, str]:
    config = campaign.config or {}
    return (
        str(config.get("participant_param") or DEFAULT_PARTICIPANT_PARAM),
        str(config.get("study_param") or DEFAULT_STUDY_PARAM),
    )
