"""The X-Chorus-Signature header: ``t=<unix time>,v1=<hex HMAC-SHA256>``.

The MAC is over ``f"{t}.{raw body}"`` with the webhook's secret, so a receiver that
checks it knows the body came from Chorus, unaltered, and recently (reject a ``t`` more
than five minutes from its clock to stop replays). ``verify`` is what a receiver does
(README: "Verifying a webhook" has the same in ten lines).
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Chorus-Signature"
TOLERANCE_S = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def sign(*, secret: str, body: bytes, now: float | None = None) -> str:
    return signature(
        secret=secret, timestamp=int(now if now is not None else time.time()), body=body
    )


def verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` within ``tolerance_s``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
