"""Registering webhooks in the admin and over REST; the delivery log and its actions."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import DeliveryStatus, Webhook, WebhookDelivery
from annotate.webhooks import services
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="hook-admin", is_staff=True, is_superuser=True))
    return client


def test_admin_registers_a_webhook_and_refuses_private_addresses(admin_client, receiver, settings):
    campaign = CampaignFactory()
    form = {
        "campaign": campaign.pk,
        "url": "http://10.0.0.5/hook",
        "events": ["labels.received", "campaign.done"],
        "enabled": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    refused = admin_client.post("/admin/annotate/webhook/add/", form)
    assert (
        refused.status_code == 200 and "CHORUS_WEBHOOK_ALLOWED_NETWORKS" in refused.content.decode()
    )
    assert not Webhook.objects.exists()
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    made = admin_client.post("/admin/annotate/webhook/add/", {**form, "url": receiver.url})
    assert made.status_code == 302, made.content.decode()[:2000]
    hook = Webhook.objects.get()
    assert hook.events == ["labels.received", "campaign.done"] and hook.enabled
    page = admin_client.get(f"/admin/annotate/webhook/{hook.pk}/change/").content.decode()
    assert hook.secret in page  # the receiver needs it


def test_admin_test_event_and_send_again(
    admin_client, receiver, local_allowed, django_capture_on_commit_callbacks, monkeypatch
):
    from annotate import admin_webhooks

    sent = []
    monkeypatch.setattr(admin_webhooks, "enqueue", lambda task, pk: sent.append(pk))
    hook = services.webhook_create(campaign=CampaignFactory(), url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/annotate/webhook/",
            {"action": "send_test_event", "_selected_action": [hook.pk]},
        )
    ping = WebhookDelivery.objects.get(event="ping")
    assert sent == [ping.pk]
    services.delivery_attempt(delivery_id=ping.pk)
    assert receiver.received[0].event == "ping"
    WebhookDelivery.objects.filter(pk=ping.pk).update(status=DeliveryStatus.FAILED, attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/annotate/webhookdelivery/",
            {"action": "send_again", "_selected_action": [ping.pk]},
        )
    ping.refresh_from_db()
    assert ping.status == DeliveryStatus.PENDING and ping.attempts == 0 and sent[-1] == ping.pk
    log = admin_client.get("/admin/annotate/webhookdelivery/").content.decode()
    assert "ping" in log


def _api(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def test_api_registers_and_lists_for_admins_only(receiver, local_allowed):
    campaign = CampaignFactory(slug="api-hooks")
    api = _api(UserFactory(is_staff=True))
    made = api.post(
        "/api/v1/campaigns/api-hooks/webhooks/",
        {"url": receiver.url, "events": ["export.ready"]},
        content_type="application/json",
    )
    assert made.status_code == 201
    body = made.json()
    assert body["events"] == ["export.ready"] and len(body["secret"]) > 30
    listed = api.get("/api/v1/campaigns/api-hooks/webhooks/").json()
    assert [h["url"] for h in listed] == [receiver.url] and "secret" not in listed[0]
    refused = api.post(
        "/api/v1/campaigns/api-hooks/webhooks/",
        {"url": "http://169.254.169.254/latest"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "url" in refused.json()
    bad_event = api.post(
        "/api/v1/campaigns/api-hooks/webhooks/",
        {"url": receiver.url, "events": ["labels.recieved"]},
        content_type="application/json",
    )
    assert bad_event.status_code == 400 and "events" in bad_event.json()
    assert _api(UserFactory()).get("/api/v1/campaigns/api-hooks/webhooks/").status_code == 403
    assert Webhook.objects.filter(campaign=campaign).count() == 1


def test_webhook_list_query_count_does_not_grow(local_allowed, django_assert_num_queries):
    campaign = CampaignFactory(slug="counted")
    api = _api(UserFactory(is_staff=True))
    api.get("/api/v1/campaigns/counted/webhooks/")  # warm the token and user
    for n in range(3):
        services.webhook_create(campaign=campaign, url=f"http://127.0.0.1:{9000 + n}/x")
    with django_assert_num_queries(3):  # token with its user, the campaign, the webhooks
        listed = api.get("/api/v1/campaigns/counted/webhooks/").json()
    assert len(listed) == 3
