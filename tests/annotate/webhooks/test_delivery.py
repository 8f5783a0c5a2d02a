"""Deliveries against a real local HTTP server: signed, retried with backoff, logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate import events
from annotate.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from annotate.webhooks import services
from annotate.webhooks.network import AddressRefused
from tests.config.helpers import free_port
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def _hook(url: str, **kwargs) -> Webhook:
    return services.webhook_create(campaign=CampaignFactory(slug="hooked"), url=url, **kwargs)


def _due(delivery: WebhookDelivery) -> None:
    """Time travel: the backoff has passed."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_delivery_is_signed_and_logged(receiver, local_allowed):
    hook = _hook(receiver.url)
    (delivery,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event=WebhookEvent.REFIT_FINISHED, data={"run_id": 7}
    )
    done = services.delivery_attempt(delivery_id=delivery.pk)
    assert done is not None and done.status == DeliveryStatus.DELIVERED
    assert done.attempts == 1 and done.last_status_code == 200 and done.delivered_at
    (got,) = receiver.received
    assert got.path == "/hooks/chorus"
    assert got.signed_by(hook.secret) and not got.signed_by("wrong")
    assert got.event == "refit.finished"
    assert got.headers["X-Chorus-Delivery"] == str(delivery.event_id)
    assert got.json == {
        "type": "refit.finished",
        "campaign": "hooked",
        "created_at": got.json["created_at"],
        "data": {"run_id": 7},
        "id": str(delivery.event_id),
    }
    # Claimed already: a second worker with the same message does nothing.
    assert services.delivery_attempt(delivery_id=delivery.pk) is None


def test_a_receiver_that_is_down_is_retried_with_backoff_then_given_up(local_allowed):
    hook = _hook(f"http://127.0.0.1:{free_port()}/nobody-listens")
    (delivery,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event=WebhookEvent.CAMPAIGN_DONE, data={}
    )
    waits = []
    for attempt in (1, 2):
        row = services.delivery_attempt(delivery_id=delivery.pk)
        assert row is not None and row.status == DeliveryStatus.PENDING
        assert row.attempts == attempt and "ConnectError" in row.last_error
        waits.append((row.next_attempt_at - timezone.now()).total_seconds())
        # not due yet: the task's retry (or the sweep) must wait for the backoff
        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        _due(row)
    assert 3 < waits[0] < 7 and 7 < waits[1] < 13  # 5 s, then 10 s (+-20% jitter)
    last = services.delivery_attempt(delivery_id=delivery.pk)
    assert last is not None and last.status == DeliveryStatus.FAILED and last.attempts == 3
    assert last.next_attempt_at is None


def test_errors_then_success_keep_the_same_event_id(receiver, local_allowed):
    receiver.statuses[:] = [500, 302, 200]
    hook = _hook(receiver.url)
    (delivery,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event=WebhookEvent.EXPORT_READY, data={"export_id": 1}
    )
    first = services.delivery_attempt(delivery_id=delivery.pk)
    assert first.last_status_code == 500 and first.status == DeliveryStatus.PENDING
    _due(first)
    second = services.delivery_attempt(delivery_id=delivery.pk)
    assert second.last_status_code == 302 and "redirects are not followed" in second.last_error
    _due(second)
    third = services.delivery_attempt(delivery_id=delivery.pk)
    assert third.status == DeliveryStatus.DELIVERED and third.attempts == 3
    ids = {r.headers["X-Chorus-Delivery"] for r in receiver.received}
    assert ids == {str(delivery.event_id)} and len(receiver.received) == 3
    assert [r.headers["X-Chorus-Attempt"] for r in receiver.received] == ["1", "2", "3"]


def test_an_address_refused_at_delivery_time_is_logged_not_retried(receiver, local_allowed):
    hook = _hook(receiver.url)
    local_allowed.CHORUS_WEBHOOK_ALLOWED_NETWORKS = []  # the operator took it off the list
    (delivery,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event=WebhookEvent.CAMPAIGN_DONE, data={}
    )
    row = services.delivery_attempt(delivery_id=delivery.pk)
    assert (
        row.status == DeliveryStatus.REFUSED and "CHORUS_WEBHOOK_ALLOWED_NETWORKS" in row.last_error
    )
    assert receiver.received == []


def test_registration_refuses_private_addresses(settings):
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(AddressRefused):
        _hook("http://127.0.0.1:9/x")
    assert not Webhook.objects.exists()


def test_subscriptions_and_disabled_webhooks(receiver, local_allowed):
    hook = _hook(receiver.url, events=["export.ready"])
    other = services.webhook_create(campaign=hook.campaign, url=receiver.url)
    Webhook.objects.filter(pk=other.pk).update(enabled=False)
    assert (
        services.deliveries_create(campaign_id=hook.campaign_id, event="campaign.done", data={})
        == []
    )
    made = services.deliveries_create(campaign_id=hook.campaign_id, event="export.ready", data={})
    assert [d.webhook_id for d in made] == [hook.pk]


def test_the_sweep_sends_what_is_due(receiver, local_allowed, monkeypatch):
    from annotate import webhook_tasks

    sent = []
    monkeypatch.setattr(webhook_tasks, "enqueue", lambda task, *args, **kw: sent.append(args))
    hook = _hook(receiver.url)
    (due,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event="campaign.done", data={}
    )
    (later,) = services.deliveries_create(
        campaign_id=hook.campaign_id, event="campaign.done", data={}
    )
    WebhookDelivery.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert webhook_tasks.webhook_sweep() == {"label_batches": 0, "sent": 1}
    assert sent == [(due.pk,)]


def test_events_from_the_domain_become_deliveries(receiver, local_allowed, monkeypatch):
    from annotate.webhooks import listeners

    queued = []
    monkeypatch.setattr(listeners, "enqueue", lambda task, *args, **kw: queued.append(args))
    hook = _hook(receiver.url)
    events.send_now(
        events.refit_finished,
        run_id=3,
        campaign_id=hook.campaign_id,
        kind="dpo",
        status="succeeded",
    )
    events.send_now(events.version_promoted, campaign_id=hook.campaign_id, kind="dpo", version_id=9)
    events.send_now(events.quota_cell_full, campaign_id=hook.campaign_id, cell="GB")
    events.send_now(events.campaign_done, campaign_id=hook.campaign_id)
    rows = list(WebhookDelivery.objects.order_by("pk").values_list("event", "payload"))
    assert [e for e, _ in rows] == [
        "refit.finished",
        "version.promoted",
        "quota.cell_full",
        "campaign.done",
    ]
    assert rows[0][1]["data"] == {"run_id": 3, "kind": "dpo", "status": "succeeded"}
    assert rows[1][1]["data"] == {"kind": "dpo", "version_id": 9}
    assert len(queued) == 4
