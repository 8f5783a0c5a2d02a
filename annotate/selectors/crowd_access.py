"""Who may see or delete a crowd participant's data: whoever holds their signed link.

A crowd participant's account has no password: the join link is its only credential
(annotate.services.crowd_links). So reading or deleting their data needs that link
again, not merely a session that may have been opened long ago on a shared computer:

- on the pages, a session in which the participant's own signed link was opened within
  ``CHORUS_CROWD_PROOF_MAX_AGE_S`` (default an hour);
- over the API, ``campaign=<slug>&sig=<signature>`` of their link, with the request.

Accounts with a password (sign-up, staff) are not crowd accounts; their login suffices.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy

from annotate.models import Annotator, Campaign
from annotate.services.crowd_links import crowd_proof_fresh, signature_valid

REFUSAL = gettext_lazy(
    "Your account was opened by a study link, so that link is what proves it is you: "
    "open your personal study link again (the one ending in &sig=...) and come back "
    "within the hour. Lost it? Ask the researcher for a fresh one."
)


def proof_max_age_s() -> int:
    return int(getattr(settings, "CHORUS_CROWD_PROOF_MAX_AGE_S", 3600))


def crowd_account(*, user: Any, annotator: Annotator | None) -> bool:
    """A password-less account made by a join link (annotate.services.onboarding)."""
    return bool(annotator is not None and annotator.external_id and not user.has_usable_password())


def crowd_data_refusal(
    *,
    user: Any,
    annotator: Annotator | None,
    session: Any = None,
    campaign_slug: str = "",
    signature: str = "",
) -> str | None:
    """Why this request may not read or delete the participant's data (None: it may)."""
    if not crowd_account(user=user, annotator=annotator):
        return None
    assert annotator is not None
    if session is not None and crowd_proof_fresh(
        session=session, annotator_id=annotator.pk, max_age_s=proof_max_age_s()
    ):
        return None
    if campaign_slug and signature:
        campaign = Campaign.objects.filter(slug=campaign_slug).only("pk", "join_secret").first()
        if campaign is not None and signature_valid(
            campaign=campaign, participant_id=annotator.external_id, signature=signature
        ):
            return None
    return str(REFUSAL)
