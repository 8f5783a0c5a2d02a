"""Celery tasks of the outgoing webhooks (annotate.webhooks). Queue "default".

Each takes ids, re-checks state in the database and calls one service; running one
twice is harmless (a delivery attempt is claimed by a conditional update, a labels
flush moves a locked cursor).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from annotate.tasks_util import enqueue
from annotate.webhooks import services


@shared_task(name="annotate.webhook_tasks.webhook_deliver", bind=True, max_retries=None)
def webhook_deliver(self: Any, delivery_id: int) -> dict[str, Any]:
    """One attempt; a retry is scheduled with the delivery's own backoff (Celery retry).

    If this message is lost, beat's sweep sends the pending row when it is due.
    """
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return {"delivery": delivery_id, "skipped": True}
    if delivery.status == "pending" and delivery.next_attempt_at is not None:
        raise self.retry(eta=delivery.next_attempt_at)
    return {"delivery": delivery.pk, "status": delivery.status, "attempts": delivery.attempts}


@shared_task(name="annotate.webhook_tasks.webhook_labels_flush")
def webhook_labels_flush(campaign_id: int) -> dict[str, Any]:
    """Announce the labels that arrived since the last batch, then send them."""
    created = services.webhook_labels_flush(campaign_id=campaign_id)
    for delivery in created:
        enqueue(webhook_deliver, delivery.pk)
    return {"campaign": campaign_id, "deliveries": len(created)}


@shared_task(name="annotate.webhook_tasks.webhook_sweep")
def webhook_sweep() -> dict[str, int]:
    """Beat: flush label batches that are behind; send pending deliveries that are due."""
    flushed = 0
    for campaign_id in services.campaigns_with_unannounced_labels():
        flushed += len(services.webhook_labels_flush(campaign_id=campaign_id))
    due = services.deliveries_due()
    for delivery_id in due:
        enqueue(webhook_deliver, delivery_id)
    return {"label_batches": flushed, "sent": len(due)}
