"""Personal API tokens (DRF authtoken): one per user, replaced as a whole, never edited.

Rotation is delete-then-create inside one transaction that first locks the user's row:
two rotations racing (two tabs, a double click) run one after the other, so the user
ends with exactly one token and never with none, and a rolled-back rotation leaves the
old key working. Every rotation and revocation is written to the audit log in the same
transaction (``token.rotate`` / ``token.revoke``; the creation itself is also logged as
``token.create`` by the signal handler in annotate.security.signals). The audit rows
hold the last four characters of a key at most, never the key.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotate.services.audit import audit_record


def _lock_user(user: Any) -> None:
    # The Token table has a unique user column but nothing to lock before the row
    # exists; the user's row serialises every token write of that user.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


@transaction.atomic
def api_token_rotate(*, user: Any) -> Token:
    """Replace the user's token with a new one (or create the first). Takes a row lock
    on the user; returns the new token, whose key is shown to the user once."""
    _lock_user(user)
    # Only the last four characters of a key ever reach the audit log.
    old_end = Token.objects.filter(user=user).values_list("key", flat=True).first()
    if old_end is not None:
        Token.objects.filter(user=user).delete()
        old_end = old_end[-4:]
    token = Token.objects.create(user=user)
    audit_record(
        actor=user,
        action="token.rotate",
        target=f"API token of {user.get_username()}",
        details={
            "user_id": user.pk,
            "replaced": old_end is not None,
            "old_key_end": old_end,
            "new_key_end": token.key[-4:],
        },
    )
    return token


@transaction.atomic
def api_token_revoke(*, user: Any) -> bool:
    """Delete the user's token; False when there was none (nothing is logged then).
    Takes a row lock on the user."""
    _lock_user(user)
    old_key = Token.objects.filter(user=user).values_list("key", flat=True).first()
    if old_key is None:
        return False
    Token.objects.filter(user=user).delete()
    audit_record(
        actor=user,
        action="token.revoke",
        target=f"API token of {user.get_username()}",
        details={"user_id": user.pk, "old_key_end": old_key[-4:]},
    )
    return True
