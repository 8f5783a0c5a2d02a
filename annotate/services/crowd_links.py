"""Crowd join links with a secret: a participant id alone is not a credential.

A join link is ``/join/<slug>/?PROLIFIC_PID=<id>&STUDY_ID=<study>&sig=<signature>`` where
the signature is an HMAC-SHA256 of the participant id under the campaign's own secret
(``Campaign.join_secret``, 256 random bits), cut to 32 hex characters (128 bits), and
compared in constant time. Only someone holding the link (or the secret) can enter as
that participant, download their data or delete it.

A crowd platform fills in the participant id but cannot sign each link. For that case a
campaign may set ``config["join_study_key"]``: the platform's study URL then carries
``key=<study key>`` (an HMAC of a fixed label under the same secret, identical for every
participant). It admits a participant id that has never joined, which gets its own
signed link at once; an id that already joined needs its own link (or the same
browser's session), so knowing the study key and someone else's id is not enough.

Rotating the secret (admin action) voids every link and study key of the campaign.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import transaction

from annotate.campaign_config import section_values
from annotate.campaign_config.participants import Participants
from annotate.models import Campaign
from annotate.models.campaign import new_join_secret

SIGNATURE_PARAM = "sig"
STUDY_KEY_PARAM = "key"
SIGNATURE_HEX = 32
_STUDY_LABEL = "chorus-study-key"
SESSION_KEY = "chorus_crowd_proof"  # {"annotator": id, "at": unix time} of a signed link


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:SIGNATURE_HEX]


def join_signature(*, campaign: Campaign, participant_id: str) -> str:
    return _mac(campaign.join_secret, f"participant:{participant_id}")


def join_study_key(*, campaign: Campaign) -> str:
    return _mac(campaign.join_secret, _STUDY_LABEL)


def signature_valid(*, campaign: Campaign, participant_id: str, signature: str) -> bool:
    """Constant-time check of a link's signature (any string: never raises)."""
    expected = join_signature(campaign=campaign, participant_id=participant_id)
    return hmac.compare_digest(expected.encode(), (signature or "").strip().lower().encode())


def study_key_valid(*, campaign: Campaign, key: str) -> bool:
    return hmac.compare_digest(
        join_study_key(campaign=campaign).encode(), (key or "").strip().lower().encode()
    )


def join_params(*, campaign: Campaign) -> tuple[str, str]:
    """The query parameters carrying the participant and study ids."""
    values = section_values(campaign.config, Participants)
    return values.participant_param, values.study_param  # type: ignore[attr-defined]


def join_link(
    *, campaign: Campaign, participant_id: str, study_id: str = "", base_url: str = ""
) -> str:
    """The participant's own signed link (``base_url`` like ``https://chorus.example``)."""
    pid_param, study_param = join_params(campaign=campaign)
    query = {pid_param: participant_id}
    if study_id:
        query[study_param] = study_id
    query[SIGNATURE_PARAM] = join_signature(campaign=campaign, participant_id=participant_id)
    return f"{base_url.rstrip('/')}/join/{campaign.slug}/?{urlencode(query)}"


@dataclass(frozen=True)
class PlatformLink:
    platform: str
    url: str
    note: str


def platform_links(*, campaign: Campaign, base_url: str) -> list[PlatformLink]:
    """How to point each crowd platform at the campaign (what the admin page shows)."""
    root = f"{base_url.rstrip('/')}/join/{campaign.slug}/"
    key = join_study_key(campaign=campaign)
    study_key_on = section_values(campaign.config, Participants).join_study_key  # type: ignore[attr-defined]
    status = "on" if study_key_on else 'off: set "join_study_key" to use it'
    return [
        PlatformLink(
            "Prolific (study URL)",
            f"{root}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}"
            f"&SESSION_ID={{{{%SESSION_ID%}}}}&{STUDY_KEY_PARAM}={key}",
            f"Study key link ({status}). Prolific fills in the ids; first-time "
            "participants are admitted and given their own signed link.",
        ),
        PlatformLink(
            "MTurk (ExternalQuestion URL)",
            f"{root}?{STUDY_KEY_PARAM}={key}",
            f"Study key link ({status}). MTurk appends workerId, hitId and assignmentId; "
            'set "participant_param" to workerId and "study_param" to hitId.',
        ),
        PlatformLink(
            "Per-participant signed link",
            f"{root}?PROLIFIC_PID=<id>&STUDY_ID=<study>&{SIGNATURE_PARAM}=<signature>",
            "Always accepted: <signature> is the first 32 hex characters of "
            'HMAC-SHA256(secret, "participant:" + id). Make them on the "Crowd links" page '
            "or with POST /api/v1/campaigns/<slug>/join-links/.",
        ),
    ]


@transaction.atomic
def join_secret_rotate(*, campaign: Campaign) -> Campaign:
    """A new secret: every link and study key made so far stops working. Locks the row."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    locked.join_secret = new_join_secret()
    locked.save(update_fields=["join_secret", "updated_at"])
    return locked


def crowd_proof_mark(*, session: Any, annotator_id: int) -> None:
    """Remember in the session that this participant just presented their signed link."""
    session[SESSION_KEY] = {"annotator": annotator_id, "at": int(time.time())}


def crowd_proof_fresh(*, session: Any, annotator_id: int, max_age_s: int) -> bool:
    proof = session.get(SESSION_KEY) or {}
    return (
        proof.get("annotator") == annotator_id
        and int(time.time()) - int(proof.get("at", 0)) <= max_age_s
    )
