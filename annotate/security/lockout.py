"""Failed-login counting and lockout, per username and per client address.

A key ("u:<username>" or "ip:<address>") is locked for ``CHORUS_LOGIN_LOCKOUT_S``
seconds once it collects its limit of failures inside ``CHORUS_LOGIN_WINDOW_S``:
``CHORUS_LOGIN_MAX_FAILURES`` (default 5) for a username, guessing one account's
password; ``CHORUS_LOGIN_IP_MAX_FAILURES`` (default 30) for an address, spraying many
accounts. Failures while locked are not counted, so a lock cannot be extended forever by
an attacker (it ends on time and the owner can log in). A successful login clears the
username's counter, not the address's.

Counts live in PostgreSQL (``LoginThrottle``; row lock per key), shared by every web
process. Usernames are case-folded for counting, so "Alice" and "alice" share a budget.
The address is ``annotate.security.client_ip.client_ip`` (proxy-aware, not spoofable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import LoginThrottle


@dataclass(frozen=True)
class Policy:
    max_failures: int
    ip_max_failures: int
    window: timedelta
    lockout: timedelta


def policy() -> Policy:
    return Policy(
        max_failures=int(getattr(settings, "CHORUS_LOGIN_MAX_FAILURES", 5)),
        ip_max_failures=int(getattr(settings, "CHORUS_LOGIN_IP_MAX_FAILURES", 30)),
        window=timedelta(seconds=int(getattr(settings, "CHORUS_LOGIN_WINDOW_S", 900))),
        lockout=timedelta(seconds=int(getattr(settings, "CHORUS_LOGIN_LOCKOUT_S", 900))),
    )


def _keys(username: str | None, ip: str | None) -> list[tuple[str, str]]:
    """(key, kind) pairs; kind picks the limit."""
    keys = []
    if username:
        keys.append((f"u:{username.casefold()[:150]}", "user"))
    if ip:
        keys.append((f"ip:{ip[:64]}", "ip"))
    return keys


def login_locked_until(*, username: str | None, ip: str | None) -> datetime | None:
    """When the later of the username's and the address's locks ends; None if neither."""
    keys = [k for k, _ in _keys(username, ip)]
    if not keys:
        return None
    now = timezone.now()
    until = (
        LoginThrottle.objects.filter(key__in=keys, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return until


def _lock_row(key: str, now: datetime) -> LoginThrottle:
    """The key's row, locked (created on first failure; a racing insert is retried)."""
    for _ in range(2):
        row = LoginThrottle.objects.select_for_update().filter(key=key).first()
        if row is not None:
            return row
        try:
            with transaction.atomic():
                LoginThrottle.objects.create(key=key, failures=0, window_start=now)
        except IntegrityError:
            pass
    return LoginThrottle.objects.select_for_update().get(key=key)


def login_failure_record(*, username: str | None, ip: str | None) -> list[str]:
    """Count one failed login. Returns the keys this failure locked (empty: none).

    Locks: one LoginThrottle row per key, in a fixed order (username, then address).
    """
    rules = policy()
    now = timezone.now()
    newly_locked: list[str] = []
    with transaction.atomic():
        for key, kind in _keys(username, ip):
            row = _lock_row(key, now)
            if row.locked_until and row.locked_until > now:
                continue  # already locked: do not extend
            if row.window_start + rules.window < now:
                row.failures, row.window_start = 0, now
            row.failures += 1
            limit = rules.max_failures if kind == "user" else rules.ip_max_failures
            if row.failures >= limit:
                row.locked_until = now + rules.lockout
                row.failures, row.window_start = 0, now
                newly_locked.append(key)
            row.save(update_fields=["failures", "window_start", "locked_until"])
    return newly_locked


def login_success_record(*, username: str | None) -> None:
    """A correct password clears the account's count (an expired lock too), not the address's."""
    now = timezone.now()
    for key, _ in _keys(username, None):
        LoginThrottle.objects.filter(key=key).exclude(locked_until__gt=now).delete()
