"""labels.received is batched with a cursor; quota cells and campaigns announce when
they fill (the quota_cell_full and campaign_done domain events)."""

from __future__ import annotations

import pytest

from annotate import events
from annotate.models import Campaign, Item, TaskType, WebhookDelivery
from annotate.services import annotation_submit, assignment_next, items_add
from annotate.services.eligibility import campaign_admit
from annotate.services.items import ItemSpec, ResponseSpec
from annotate.webhooks import listeners, services
from tests.annotate.ui_helpers import onboarded_annotator
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        listeners, "enqueue", lambda task, *a, **kw: calls.append((task.name, a, kw))
    )
    return calls


def _answer(campaign: Campaign, annotator) -> int:
    assignment = assignment_next(annotator=annotator, campaign=campaign)
    assert assignment is not None
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, payload={"choice": "A"}
    )
    return annotation.pk


def test_labels_are_announced_in_batches_after_the_cursor(
    receiver, local_allowed, queued, django_capture_on_commit_callbacks, monkeypatch
):
    campaign = CampaignFactory(overlap=1)
    for _ in range(5):
        ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    old = _answer(campaign, onboarded_annotator())  # before the webhook: never announced
    hook = services.webhook_create(campaign=campaign, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ids = [_answer(campaign, onboarded_annotator()) for _ in range(3)]
    # Three labels, one debounced flush request (the batch window).
    flushes = [c for c in queued if c[0].endswith("webhook_labels_flush")]
    assert flushes == [
        (
            "annotate.webhook_tasks.webhook_labels_flush",
            (campaign.pk,),
            {"_options": {"countdown": 10}},
        )
    ]
    monkeypatch.setattr(services, "LABELS_PER_EVENT", 2)
    made = services.webhook_labels_flush(campaign_id=campaign.pk)
    assert [d.payload["data"]["annotation_ids"] for d in made] == [ids[:2], ids[2:]]
    assert made[0].payload["data"]["task_types"] == {"pairwise": 2}
    assert old not in made[0].payload["data"]["annotation_ids"]
    hook.refresh_from_db()
    assert hook.labels_cursor == ids[-1]
    assert services.webhook_labels_flush(campaign_id=campaign.pk) == []  # nothing new
    assert services.campaigns_with_unannounced_labels() == []
    delivered = services.delivery_attempt(delivery_id=made[0].pk)
    assert delivered.status == "delivered" and receiver.received[0].event == "labels.received"


def test_the_campaign_is_done_once_and_again_after_new_work(django_capture_on_commit_callbacks):
    seen: list[int] = []

    def listener(sender, *, campaign_id, **kwargs):
        seen.append(campaign_id)

    events.campaign_done.connect(listener, dispatch_uid="test-done")
    try:
        campaign = CampaignFactory(overlap=1)
        ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
        ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
        with django_capture_on_commit_callbacks(execute=True):
            _answer(campaign, onboarded_annotator())
        assert seen == [] and Campaign.objects.get(pk=campaign.pk).done_at is None
        with django_capture_on_commit_callbacks(execute=True):
            _answer(campaign, onboarded_annotator())
        assert seen == [campaign.pk] and Campaign.objects.get(pk=campaign.pk).done_at
        # more work reopens it; finishing that is done again
        items_add(
            campaign=campaign,
            specs=[
                ItemSpec(
                    task_type="pairwise",
                    messages=[{"role": "user", "content": "q"}],
                    responses=[ResponseSpec("a"), ResponseSpec("b")],
                )
            ],
        )
        with django_capture_on_commit_callbacks(execute=True):
            _answer(campaign, onboarded_annotator())
        assert seen == [campaign.pk, campaign.pk]
    finally:
        events.campaign_done.disconnect(dispatch_uid="test-done")


def test_a_quota_cell_announces_when_its_last_place_is_taken(django_capture_on_commit_callbacks):
    cells: list[str] = []

    def listener(sender, *, campaign_id, cell, **kwargs):
        cells.append(cell)

    events.quota_cell_full.connect(listener, dispatch_uid="test-quota")
    try:
        campaign = CampaignFactory(
            config={"quotas": {"fields": ["residence_country"], "cells": {"GB": 2, "US": 5}}}
        )
        with django_capture_on_commit_callbacks(execute=True):
            campaign_admit(campaign=campaign, annotator=onboarded_annotator(residence_country="GB"))
        assert cells == []
        with django_capture_on_commit_callbacks(execute=True):
            campaign_admit(campaign=campaign, annotator=onboarded_annotator(residence_country="GB"))
            campaign_admit(campaign=campaign, annotator=onboarded_annotator(residence_country="US"))
        assert cells == ["GB"]
    finally:
        events.quota_cell_full.disconnect(dispatch_uid="test-quota")


def test_no_webhooks_means_no_rows(queued, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    with django_capture_on_commit_callbacks(execute=True):
        _answer(campaign, onboarded_annotator())
    assert queued == [] and not WebhookDelivery.objects.exists()
    assert Item.objects.filter(campaign=campaign).count() == 1
