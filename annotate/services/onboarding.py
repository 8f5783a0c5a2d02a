"""Writes for onboarding: consent, crowd-platform admission, completion."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate.campaign_config import section_values
from annotate.campaign_config.participants import Participants
from annotate.models import Annotator, Campaign, CampaignAdmission, Consent
from annotate.selectors.onboarding import ConsentDocument, consent_document

from .crowd_links import signature_valid, study_key_valid
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


class JoinNotSigned(JoinRefused):
    """A join link without a valid signature for its participant id (403)."""


@dataclass(frozen=True)
class Joined:
    user: AbstractBaseUser
    annotator: Annotator
    signed: bool  # the link carried the participant's own signature (not the study key)
    created: bool


def _join_allowed(
    *,
    campaign: Campaign,
    external_id: str,
    signature: str,
    study_key: str,
    exists: bool,
    same_session: bool,
) -> bool:
    """Whether this link may enter as ``external_id`` (annotate.services.crowd_links)."""
    if signature_valid(campaign=campaign, participant_id=external_id, signature=signature):
        return True
    if same_session:
        return True  # already this participant in this browser: nothing new is granted
    study_keys_on = section_values(campaign.config, Participants).join_study_key  # type: ignore[attr-defined]
    return (
        study_keys_on
        and not exists
        and bool(study_key)
        and study_key_valid(campaign=campaign, key=study_key)
    )


def participant_join(
    *,
    campaign: Campaign,
    external_id: str,
    study_id: str = "",
    signature: str = "",
    study_key: str = "",
    session_user_id: int | None = None,
) -> Joined:
    """Find or create the password-less account of a crowd participant. Idempotent.

    The link must carry the participant's signature (or, for a first join where the
    campaign allows it, the study key); see annotate.services.crowd_links. Only accounts
    created this way (no usable password) can be entered by a join URL, so the URL never
    opens an account someone protected with a password.
    """
    external_id = (external_id or "").strip()
    study_id = (study_id or "").strip()[:200]
    if not campaign.is_open:
        raise JoinRefused(gettext("This study is not open at the moment."))
    if not EXTERNAL_ID_RE.match(external_id):
        raise JoinRefused(gettext("The link is missing a valid participant id."))
    User = get_user_model()
    username = _username_for(external_id)
    existing = User.objects.filter(username=username).first()
    allowed = _join_allowed(
        campaign=campaign,
        external_id=external_id,
        signature=signature,
        study_key=study_key,
        exists=existing is not None,
        same_session=existing is not None and existing.pk == session_user_id,
    )
    if not allowed:
        raise JoinNotSigned(
            gettext(
                "This link cannot be used: it lacks its signature (or the signature does not "
                "match the participant id). Open the study from your crowd platform again, "
                "or use the personal link you were given when you first joined."
            )
        )
    signed = signature_valid(campaign=campaign, participant_id=external_id, signature=signature)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                user = User.objects.filter(username=username).first()
                created = user is None
                if user is None:
                    user = User(username=username)
                    user.set_unusable_password()
                    user.save()
                elif user.has_usable_password():
                    raise JoinRefused(gettext("This participant id cannot be used here."))
                elif existing is None and not signed:
                    # A study-key first join lost a race: the id has joined meanwhile.
                    raise JoinNotSigned(gettext("This participant id has already joined."))
                annotator, _ = Annotator.objects.get_or_create(
                    user=user, defaults={"external_id": external_id, "study_id": study_id}
                )
                if study_id and annotator.study_id != study_id:
                    annotator.study_id = study_id
                    annotator.save(update_fields=["study_id"])
                return Joined(user=user, annotator=annotator, signed=signed, created=created)
        except IntegrityError:
            continue  # the same participant clicked twice; the other request created it
    raise JoinRefused(gettext("Please try the link again."))


def admission_complete(*, campaign: Campaign, annotator: Annotator) -> None:
    """Mark that the participant reached the end (first time only)."""
    CampaignAdmission.objects.filter(
        campaign=campaign, annotator=annotator, completed_at__isnull=True
    ).update(completed_at=timezone.now())
