"""Writes for onboarding: consent, crowd-platform admission, completion."""

from __future__ import annotations

import hashlib
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate.models import Annotator, Campaign, CampaignAdmission, Consent
from annotate.selectors.onboarding import ConsentDocument, consent_document

from .errors import ServiceError

EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")


class ConsentOutdated(ServiceError):
    """The consent text changed while the participant was reading it."""


class JoinRefused(ServiceError):
    """A crowd join URL that cannot admit anyone (bad ids, closed campaign)."""


def consent_give(
    *,
    annotator: Annotator,
    campaign: Campaign | None,
    version: str,
    text_sha256: str,
    language: str | None = None,
) -> Consent:
    """Record consent to the document in force. Idempotent.

    ``version``, ``text_sha256`` and ``language`` are what the participant was shown
    (``language`` defaults to the active one); if the text changed meanwhile they must
    read it again (ConsentOutdated). The record keeps the language read. Locks the
    annotator row, because PostgreSQL's unique constraint does not stop duplicates when
    ``campaign`` is NULL.
    """
    document: ConsentDocument = consent_document(campaign=campaign, language=language)
    if (
        version != document.version
        or text_sha256 != document.sha256
        or (language and document.language != language)
    ):
        raise ConsentOutdated(gettext("The consent text was updated. Please read it again."))
    with transaction.atomic():
        Annotator.objects.select_for_update().filter(pk=annotator.pk).first()
        consent, _ = Consent.objects.get_or_create(
            annotator=annotator,
            campaign=document.campaign,
            version=document.version,
            defaults={"text_sha256": document.sha256, "language": document.language},
        )
        if consent.text_sha256 != document.sha256:
            # Same version label, different text (edited, or read in another language):
            # keep the record of what was agreed to.
            consent.text_sha256 = document.sha256
            consent.language = document.language
            consent.given_at = timezone.now()
            consent.save(update_fields=["text_sha256", "language", "given_at"])
    return consent


def _username_for(external_id: str) -> str:
    # Usernames stay short and free of the raw id (which may be personal data elsewhere).
    return "p_" + hashlib.sha256(external_id.encode()).hexdigest()[:20]


def participant_join(
    *, campaign: Campaign, external_id: str, study_id: str = ""
) -> AbstractBaseUser:
    """Find or create the password-less account of a crowd participant. Idempotent.

    Only accounts created this way (no usable password) can be entered by a join URL, so
    the URL never opens an account someone protected with a password.
    """
    external_id = (external_id or "").strip()
    study_id = (study_id or "").strip()[:200]
    if not campaign.is_open:
        raise JoinRefused(gettext("This study is not open at the moment."))
    if not EXTERNAL_ID_RE.match(external_id):
        raise JoinRefused(gettext("The link is missing a valid participant id."))
    User = get_user_model()
    username = _username_for(external_id)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = User(username=username)
                    user.set_unusable_password()
                    user.save()
                elif user.has_usable_password():
                    raise JoinRefused(gettext("This participant id cannot be used here."))
                annotator, _ = Annotator.objects.get_or_create(
                    user=user, defaults={"external_id": external_id, "study_id": study_id}
                )
                if study_id and annotator.study_id != study_id:
                    annotator.study_id = study_id
                    annotator.save(update_fields=["study_id"])
                return user
        except IntegrityError:
            continue  # the same participant clicked twice; the other request created it
    raise JoinRefused(gettext("Please try the link again."))


def admission_complete(*, campaign: Campaign, annotator: Annotator) -> None:
    """Mark that the participant reached the end (first time only)."""
    CampaignAdmission.objects.filter(
        campaign=campaign, annotator=annotator, completed_at__isnull=True
    ).update(completed_at=timezone.now())
