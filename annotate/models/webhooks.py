"""Outgoing webhooks: URLs an admin registers per campaign, and every delivery attempt.

Chorus POSTs signed JSON events to each enabled webhook (annotate.webhooks). A delivery
row is written before anything is sent, so an event is never lost to a broker outage
or a receiver that is down: the row is retried with backoff until it is delivered or
runs out of attempts, and the admin's delivery log shows every answer.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

from config.jsonutil import JSONEncoder

from .campaign import Campaign


class WebhookEvent(models.TextChoices):
    LABELS_RECEIVED = "labels.received", "Labels received (batched)"
    EXPORT_READY = "export.ready", "Export ready"
    REFIT_FINISHED = "refit.finished", "Refit finished"
    VERSION_PROMOTED = "version.promoted", "Model version promoted"
    QUOTA_CELL_FULL = "quota.cell_full", "Quota cell full"
    CAMPAIGN_DONE = "campaign.done", "Campaign done"
    PING = "ping", "Ping (a test event sent from the admin)"


SUBSCRIBABLE = [e for e in WebhookEvent.values if e != WebhookEvent.PING]


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def _all_events() -> list[str]:
    return list(SUBSCRIBABLE)


class Webhook(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(
        max_length=2000, help_text="https:// (or http://) URL that receives POSTs."
    )
    description = models.CharField(max_length=200, blank=True)
    # HMAC-SHA256 key of the X-Chorus-Signature header; the receiver keeps a copy.
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    events = models.JSONField(default=_all_events, encoder=JSONEncoder)
    enabled = models.BooleanField(default=True)
    # Last annotation id announced by labels.received: batches never skip or repeat one.
    labels_cursor = models.BigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "pk"]

    def __str__(self) -> str:
        return f"{self.campaign.slug} -> {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending (will be sent or retried)"
    DELIVERED = "delivered", "Delivered (2xx)"
    FAILED = "failed", "Failed (gave up after the last attempt)"
    REFUSED = "refused", "Refused (address not allowed)"


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    # X-Chorus-Delivery: the same on every retry, so receivers can drop duplicates.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(encoder=JSONEncoder)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a worker may (re)try: set ahead while an attempt runs (its lease), then to the
    # backoff; the sweep sends pending rows past it whose broker message was lost.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            )
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.status})"
