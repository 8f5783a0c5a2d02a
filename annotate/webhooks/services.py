"""Webhook writes: registering, turning an event into deliveries, attempting a delivery.

A delivery is written first (status pending) and enqueued after commit; the Celery task
(annotate.webhook_tasks.webhook_deliver) calls :func:`delivery_attempt`, which claims the
row with a short lease (a conditional UPDATE: two workers never send the same attempt),
POSTs outside any transaction, then records the answer. A non-2xx answer, a timeout or a
receiver that is down is retried with exponential backoff (``CHORUS_WEBHOOK_RETRY_BASE_S``
doubling, at most ``CHORUS_WEBHOOK_MAX_ATTEMPTS`` attempts), then marked failed; an
address that is not allowed is marked refused at once. Beat's sweep
(:func:`deliveries_due`) re-sends pending rows whose message was lost.

Labels are batched: a label only asks for a flush (debounced by
``CHORUS_WEBHOOK_LABELS_BATCH_S``), and :func:`webhook_labels_flush` announces every
label after the webhook's cursor in one event (at most ``LABELS_PER_EVENT`` ids each).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotate.models import (
    Annotation,
    Campaign,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from annotate.models.webhooks import new_webhook_secret
from config.jsonutil import JSONEncoder

from . import network, signing

LABELS_PER_EVENT = 1000
USER_AGENT = "Chorus-Webhooks/1"
LEASE_S = 120  # an attempt in flight holds its row this long (longer than the timeout)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_attempts() -> int:
    return int(_setting("CHORUS_WEBHOOK_MAX_ATTEMPTS", 8))


def backoff_s(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: base * 2**(attempt-1), capped, jittered."""
    base = _setting("CHORUS_WEBHOOK_RETRY_BASE_S", 10)
    delay = min(base * 2 ** max(0, attempt - 1), _setting("CHORUS_WEBHOOK_RETRY_MAX_S", 3600))
    return delay * random.uniform(0.8, 1.2)


def webhook_create(
    *,
    campaign: Campaign,
    url: str,
    events: list[str] | None = None,
    description: str = "",
    created_by: Any = None,
) -> Webhook:
    """Register a URL (checked now: scheme and every address it resolves to). Labels
    before this moment are not announced: the cursor starts at the newest label."""
    network.resolve(url)  # AddressRefused: the caller shows why
    chosen = list(events) if events is not None else list(WebhookEvent.values)
    unknown = set(chosen) - set(WebhookEvent.values)
    if unknown:
        raise ValueError(f"Unknown events: {', '.join(sorted(unknown))}.")
    latest = Annotation.objects.filter(campaign=campaign).aggregate(m=Max("pk"))["m"] or 0
    return Webhook.objects.create(
        campaign=campaign,
        url=url,
        description=description,
        events=[e for e in WebhookEvent.values if e in chosen and e != WebhookEvent.PING],
        labels_cursor=latest,
        created_by=created_by,
    )


def _envelope(webhook: Webhook, event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": event,
        "campaign": webhook.campaign.slug,
        "created_at": timezone.now().isoformat(),
        "data": data,
    }


def deliveries_create(
    *, campaign_id: int, event: str, data: dict[str, Any], only: Webhook | None = None
) -> list[WebhookDelivery]:
    """One pending delivery per enabled webhook of the campaign subscribed to ``event``."""
    hooks = (
        [only]
        if only is not None
        else list(
            Webhook.objects.filter(campaign_id=campaign_id, enabled=True).select_related("campaign")
        )
    )
    rows = [
        WebhookDelivery(webhook=h, event=event, payload=_envelope(h, event, data))
        for h in hooks
        if only is not None or event in (h.events or [])
    ]
    for row in rows:
        row.payload["id"] = str(row.event_id)
    return WebhookDelivery.objects.bulk_create(rows)


@transaction.atomic
def webhook_labels_flush(*, campaign_id: int) -> list[WebhookDelivery]:
    """Announce every label after each webhook's cursor (locks the webhook rows)."""
    out: list[WebhookDelivery] = []
    hooks = Webhook.objects.select_for_update().filter(campaign_id=campaign_id, enabled=True)
    for hook in hooks.select_related("campaign"):
        if WebhookEvent.LABELS_RECEIVED not in (hook.events or []):
            continue
        while True:
            rows = list(
                Annotation.objects.filter(campaign_id=campaign_id, pk__gt=hook.labels_cursor)
                .order_by("pk")
                .values_list("pk", "task_type")[:LABELS_PER_EVENT]
            )
            if not rows:
                break
            ids = [pk for pk, _ in rows]
            counts: dict[str, int] = {}
            for _, task_type in rows:
                counts[task_type] = counts.get(task_type, 0) + 1
            data = {
                "count": len(ids),
                "annotation_ids": ids,
                "task_types": counts,
                "total_labels": Annotation.objects.filter(campaign_id=campaign_id).count(),
            }
            out += deliveries_create(
                campaign_id=campaign_id, event=WebhookEvent.LABELS_RECEIVED, data=data, only=hook
            )
            hook.labels_cursor = ids[-1]
            Webhook.objects.filter(pk=hook.pk).update(labels_cursor=ids[-1])
    return out


def campaigns_with_unannounced_labels() -> list[int]:
    """Campaigns whose label webhooks are behind (the sweep flushes them)."""
    out = []
    for hook in Webhook.objects.filter(enabled=True).only(
        "pk", "campaign_id", "labels_cursor", "events"
    ):
        if (
            WebhookEvent.LABELS_RECEIVED in (hook.events or [])
            and Annotation.objects.filter(
                campaign_id=hook.campaign_id, pk__gt=hook.labels_cursor
            ).exists()
        ):
            out.append(hook.campaign_id)
    return sorted(set(out))


def _claim(delivery_id: int, *, force: bool) -> WebhookDelivery | None:
    """Take the next attempt of a pending delivery (None: someone else has it, or done)."""
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = WebhookDelivery.objects.filter(
        Q(pk=delivery_id, status=DeliveryStatus.PENDING) & (Q() if force else due)
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_S))
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook__campaign").get(pk=delivery_id)


def _finish(delivery: WebhookDelivery, **fields: Any) -> WebhookDelivery:
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.save(update_fields=[*fields])
    return delivery


def delivery_attempt(*, delivery_id: int, force: bool = False) -> WebhookDelivery | None:
    """Send one attempt of a delivery and record the answer. Safe to call twice: an
    attempt already claimed, delivered or given up is left alone (None)."""
    delivery = _claim(delivery_id, force=force)
    if delivery is None:
        return None
    hook = delivery.webhook
    attempt = delivery.attempts + 1
    body = json.dumps(delivery.payload, cls=JSONEncoder, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Chorus-Event": delivery.event,
        "X-Chorus-Delivery": str(delivery.event_id),
        "X-Chorus-Attempt": str(attempt),
        signing.HEADER: signing.sign(secret=hook.secret, body=body),
    }
    timeout = _setting("CHORUS_WEBHOOK_TIMEOUT_S", 10)
    try:
        response = network.post(url=hook.url, body=body, headers=headers, timeout_s=timeout)
    except network.AddressRefused as exc:
        return _finish(
            delivery,
            attempts=attempt,
            status=DeliveryStatus.REFUSED,
            last_error=str(exc),
            last_status_code=None,
            next_attempt_at=None,
        )
    except httpx.HTTPError as exc:
        return _retry_or_fail(delivery, attempt, error=f"{type(exc).__name__}: {exc}", code=None)
    answer = response.text[:1000]
    if 200 <= response.status_code < 300:
        return _finish(
            delivery,
            attempts=attempt,
            status=DeliveryStatus.DELIVERED,
            last_status_code=response.status_code,
            last_response=answer,
            last_error="",
            next_attempt_at=None,
            delivered_at=timezone.now(),
        )
    why = "redirects are not followed" if 300 <= response.status_code < 400 else "not 2xx"
    return _retry_or_fail(
        delivery,
        attempt,
        error=f"HTTP {response.status_code} ({why})",
        code=response.status_code,
        answer=answer,
    )


def _retry_or_fail(
    delivery: WebhookDelivery, attempt: int, *, error: str, code: int | None, answer: str = ""
) -> WebhookDelivery:
    if attempt >= max_attempts():
        return _finish(
            delivery,
            attempts=attempt,
            status=DeliveryStatus.FAILED,
            last_error=error,
            last_status_code=code,
            last_response=answer,
            next_attempt_at=None,
        )
    return _finish(
        delivery,
        attempts=attempt,
        last_error=error,
        last_status_code=code,
        last_response=answer,
        next_attempt_at=timezone.now() + timedelta(seconds=backoff_s(attempt)),
    )


def deliveries_due(*, limit: int = 200) -> list[int]:
    """Pending deliveries whose time has come (lost broker messages, finished backoffs)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_redeliver(*, delivery_ids: list[int]) -> list[int]:
    """Send again (admin action): back to pending with a fresh attempt budget."""
    WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None
    )
    return list(delivery_ids)


def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """A test event to one webhook (admin action)."""
    (delivery,) = deliveries_create(
        campaign_id=webhook.campaign_id,
        event=WebhookEvent.PING,
        data={"message": "Test event from the Chorus admin."},
        only=webhook,
    )
    return delivery


@transaction.atomic
def webhook_secret_rotate(*, webhook: Webhook) -> Webhook:
    locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
    locked.secret = new_webhook_secret()
    locked.save(update_fields=["secret"])
    return locked
