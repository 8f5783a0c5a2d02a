"""Setting up a study over the API alone: models, conversation slots, a refit schedule."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from annotate.models import Campaign, Item, TaskType
from modelserve.generation.models import ModelEndpoint
from modelserve.learning.scheduling import schedule_name

pytestmark = pytest.mark.django_db(transaction=True)

REFIT = {"enabled": True, "every_minutes": 1, "min_new_labels": 3, "kinds": ["reward", "dpo"]}


def _create(client, **extra):
    body = {"slug": "chat", "name": "Chat", "task_mix": {"conversation": 1}, **extra}
    return client.post("/api/v1/campaigns/create/", body, format="json")


def test_refit_schedule_given_over_the_api_reaches_beat(world):
    admin = world.client("admin")
    assert _create(admin, config={"refit": REFIT}).status_code == 201
    task = PeriodicTask.objects.get(name=schedule_name(Campaign.objects.get(slug="chat")))
    assert task.enabled and task.interval.every == 1
    # Turning it off over configure disables the beat entry too.
    off = {"config": {"refit": {**REFIT, "enabled": False}}}
    assert admin.patch("/api/v1/campaigns/chat/configure/", off, format="json").status_code == 200
    task.refresh_from_db()
    assert not task.enabled


def test_bad_refit_schedule_is_a_400_naming_the_key(world):
    answer = _create(world.client("admin"), config={"refit": {"every_minutes": 0}})
    assert answer.status_code == 400
    assert "every_minutes" in str(answer.json())
    assert not PeriodicTask.objects.filter(name__startswith="chorus-refit:").exists()


def test_models_and_conversation_slots(world):
    admin = world.client("admin")
    assert _create(admin).status_code == 201
    pool = admin.post("/api/v1/campaigns/chat/models/", {"default": 2}, format="json")
    assert pool.status_code == 200, pool.content
    assert len(pool.json()) == 2
    again = admin.post("/api/v1/campaigns/chat/models/", {"default": 2}, format="json")
    assert [e["id"] for e in again.json()] == [e["id"] for e in pool.json()]  # idempotent
    assert ModelEndpoint.objects.filter(campaigns__slug="chat").count() == 2
    bad = admin.post("/api/v1/campaigns/chat/models/", {"endpoints": [999999]}, format="json")
    assert bad.status_code == 400 and "999999" in str(bad.json())
    slots = admin.post("/api/v1/campaigns/chat/conversations/add/", {"n": 3}, format="json")
    assert slots.status_code == 201 and slots.json()["created"] == 3
    assert Item.objects.filter(campaign__slug="chat", task_type=TaskType.CONVERSATION).count() == 3


def test_researchers_cannot_change_pools_or_add_slots(world):
    researcher = world.client("res_a")
    slug = world.alpha.slug
    assert researcher.post(f"/api/v1/campaigns/{slug}/models/", {"default": 1}).status_code == 403
    answer = researcher.post(f"/api/v1/campaigns/{slug}/conversations/add/", {"n": 1})
    assert answer.status_code == 403
