"""annotate.events -> webhook deliveries. Connected in AnnotateConfig.ready().

Each receiver runs after the event's transaction committed; it writes the deliveries
(cheap) and enqueues their sending. Labels only ask for a debounced flush, so a busy
campaign sends one labels.received per ``CHORUS_WEBHOOK_LABELS_BATCH_S`` at most.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from annotate import events
from annotate.models import Campaign, Export, Webhook, WebhookEvent
from annotate.services.eligibility import quota_targets
from annotate.tasks_util import enqueue
from annotate.webhook_tasks import webhook_deliver, webhook_labels_flush

from . import services


def _send(campaign_id: int, event: str, data: dict[str, Any]) -> None:
    with transaction.atomic():
        created = services.deliveries_create(campaign_id=campaign_id, event=event, data=data)
    for delivery in created:
        enqueue(webhook_deliver, delivery.pk)


# Every submit asks whether its campaign has webhooks: the answer is cached, and dropped
# whenever a webhook is saved or deleted (signals below, so admin edits count too).
HAS_WEBHOOKS_CACHE_S = 300


def _has_webhooks_key(campaign_id: int) -> str:
    return f"chorus:has-webhooks:{campaign_id}"


def _has_webhooks(campaign_id: int) -> bool:
    key = _has_webhooks_key(campaign_id)
    found = cache.get(key)
    if found is None:
        found = Webhook.objects.filter(campaign_id=campaign_id, enabled=True).exists()
        cache.set(key, found, HAS_WEBHOOKS_CACHE_S)
    return bool(found)


def _webhooks_changed(sender: Any, instance: Webhook, **kwargs: Any) -> None:
    cache.delete(_has_webhooks_key(instance.campaign_id))


def on_labels_received(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    if not _has_webhooks(campaign_id):
        return
    batch_s = int(getattr(settings, "CHORUS_WEBHOOK_LABELS_BATCH_S", 10))
    # One flush per window: the first label of a window schedules it, the rest ride along.
    if cache.add(f"webhook-labels:{campaign_id}", 1, timeout=batch_s):
        enqueue(webhook_labels_flush, campaign_id, _options={"countdown": batch_s})


def on_export_ready(sender: Any, *, export_id: int, campaign_id: int, **kwargs: Any) -> None:
    if not _has_webhooks(campaign_id):
        return
    export = Export.objects.filter(pk=export_id).first()
    if export is None:
        return
    _send(
        campaign_id,
        WebhookEvent.EXPORT_READY,
        {
            "export_id": export.pk,
            "shape": export.shape,
            "format": export.format,
            "status": export.status,
            "row_count": export.row_count,
            "size_bytes": export.size_bytes,
            "sha256": export.sha256,
            "record": f"/api/v1/exports/{export.pk}/",
            "download": f"/api/v1/exports/{export.pk}/download",
        },
    )


def on_refit_finished(
    sender: Any, *, run_id: int, campaign_id: int, kind: str, status: str, **kwargs: Any
) -> None:
    if _has_webhooks(campaign_id):
        data = {"run_id": run_id, "kind": kind, "status": status}
        _send(campaign_id, WebhookEvent.REFIT_FINISHED, data)


def on_version_promoted(
    sender: Any, *, campaign_id: int, kind: str, version_id: int, **kwargs: Any
) -> None:
    if _has_webhooks(campaign_id):
        _send(campaign_id, WebhookEvent.VERSION_PROMOTED, {"kind": kind, "version_id": version_id})


def on_quota_cell_full(sender: Any, *, campaign_id: int, cell: str, **kwargs: Any) -> None:
    if not _has_webhooks(campaign_id):
        return
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    target = quota_targets(campaign=campaign).get(cell) if campaign else None
    _send(campaign_id, WebhookEvent.QUOTA_CELL_FULL, {"cell": cell, "target": target})


def on_campaign_done(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    if _has_webhooks(campaign_id):
        _send(campaign_id, WebhookEvent.CAMPAIGN_DONE, {})


RECEIVERS = (
    (events.labels_received, on_labels_received),
    (events.export_ready, on_export_ready),
    (events.refit_finished, on_refit_finished),
    (events.version_promoted, on_version_promoted),
    (events.quota_cell_full, on_quota_cell_full),
    (events.campaign_done, on_campaign_done),
)


def connect() -> None:
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"webhooks:{receiver.__name__}")
    post_save.connect(_webhooks_changed, sender=Webhook, dispatch_uid="webhooks:changed")
    post_delete.connect(_webhooks_changed, sender=Webhook, dispatch_uid="webhooks:deleted")
