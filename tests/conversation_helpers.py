"""Builders shared by the live-conversation tests (services, views, browser)."""

from __future__ import annotations

from typing import Any

from annotate.models import Item, TaskType
from annotate.services import assignment_next

FAKE_BACKENDS = {"fake": "modelserve.generation.backends.fake.FakeBackend"}


def conversation_campaign(
    *, k: int = 4, min_turns: int = 2, max_turns: int = 3, model: str = "echo", **config: Any
):
    """An open conversation campaign with ``k`` fake endpoints and one conversation item."""
    from tests.factories import CampaignFactory, ModelEndpointFactory

    campaign = CampaignFactory(
        task_mix={"conversation": 1},
        rating_scale="slider100",
        config={
            "conversation_models": k,
            "conversation_min_turns": min_turns,
            "conversation_max_turns": max_turns,
            **config,
        },
    )
    endpoints = [
        ModelEndpointFactory(
            name=f"secret-model-{n}",
            anon_label=f"Model {chr(65 + n)}",
            model=model,
            pool=[campaign],
        )
        for n in range(k)
    ]
    Item.objects.create(campaign=campaign, task_type=TaskType.CONVERSATION, overlap=1)
    return campaign, endpoints


def lease_conversation(campaign, annotator):
    assignment = assignment_next(annotator=annotator, campaign=campaign)
    assert assignment is not None and assignment.item.task_type == TaskType.CONVERSATION
    return assignment


def run_pending_generations() -> int:
    from modelserve.generation.batch import generation_run
    from modelserve.generation.models import GenerationRequest

    ids = list(
        GenerationRequest.objects.filter(status__in=["pending", "running"]).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        generation_run(request_id=pk)
    return len(ids)
