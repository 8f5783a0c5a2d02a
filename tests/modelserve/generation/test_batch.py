"""One job per turn: the K candidates of a turn run as one batched call per set of weights."""

from __future__ import annotations

import pytest

from annotate.models import Response
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus
from modelserve.generation.recovery import generation_requeue_stalled
from modelserve.generation.requests import (
    candidate_plan,
    generation_groups,
    generation_requests_create,
)
from modelserve.generation.tasks import generate_batch
from tests.factories import CampaignFactory, ModelEndpointFactory, PromptFactory

pytestmark = pytest.mark.django_db


def _turn(campaign, endpoints, k=4, task_type="ranking"):
    prompt = PromptFactory(campaign=campaign)
    plan = candidate_plan(
        campaign=campaign, endpoints=endpoints, k=k, strategies=["endpoints", "temperatures"]
    )
    return generation_requests_create(
        campaign=campaign,
        prompt=prompt,
        plan=plan,
        purpose=GenerationPurpose.POOL,
        task_type=task_type,
    )


def test_a_turn_is_one_task_per_set_of_weights(
    fake_backends, monkeypatch, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    same_a = ModelEndpointFactory(model="echo", pool=[campaign])
    same_b = ModelEndpointFactory(model="echo", pool=[campaign])  # same weights, other row
    other = ModelEndpointFactory(model="echo:0", pool=[campaign])
    sent: list[list[int]] = []
    monkeypatch.setattr(
        "modelserve.generation.requests.random.randrange", lambda n: 0
    )  # a, b, other, a
    monkeypatch.setattr(
        "modelserve.generation.requests.enqueue",
        lambda task, ids: sent.append(list(ids)) or "task-1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        requests = _turn(campaign, [same_a, same_b, other], k=4)
    by_endpoint = {r.pk: r.endpoint_id for r in requests}
    assert sorted(len(ids) for ids in sent) == [1, 3]
    big = max(sent, key=len)
    assert {by_endpoint[pk] for pk in big} == {same_a.pk, same_b.pk}
    assert set(GenerationRequest.objects.values_list("celery_task_id", flat=True)) == {"task-1"}
    # Differing temperatures do not split a batch.
    temps = {GenerationRequest.objects.get(pk=pk).params["temperature"] for pk in big}
    assert len(temps) == 3


def test_batch_task_makes_every_response_in_one_backend_call(fake_backends):
    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(pool=[campaign])
    requests = _turn(campaign, [endpoint], k=4)
    ids = [r.pk for r in requests]
    statuses = generate_batch.apply(args=[ids]).get()
    assert set(statuses.values()) == {"done"}
    assert fake_backends.batch_calls == 1 and fake_backends.calls == 4
    assert Response.objects.filter(prompt=requests[0].prompt).count() == 4
    done = GenerationRequest.objects.filter(pk__in=ids)
    assert {r.finish_reason for r in done} == {"stop"}
    assert all(r.item_id for r in done)  # the pool item was assembled once all were done
    # Redelivered: nothing runs again.
    generate_batch.apply(args=[ids]).get()
    assert fake_backends.calls == 4


def test_one_failing_candidate_is_retried_alone(fake_backends, monkeypatch):
    from modelserve.generation.backends import BackendError
    from modelserve.generation.backends.fake import FakeBackend

    real = FakeBackend.generate
    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(pool=[campaign])
    requests = _turn(campaign, [endpoint], k=3)
    unlucky = requests[1].params["seed"]
    failures = iter([True])

    def flaky(self, messages, params, on_text=None):
        if params.seed == unlucky and next(failures, False):
            raise BackendError("connection reset")
        return real(self, messages, params, on_text)

    monkeypatch.setattr(FakeBackend, "generate", flaky)
    sizes: list[int] = []
    real_batch = FakeBackend.generate_batch
    monkeypatch.setattr(
        FakeBackend,
        "generate_batch",
        lambda self, rows: sizes.append(len(rows)) or real_batch(self, rows),
    )
    ids = [r.pk for r in requests]
    generate_batch.apply(args=[ids]).get()
    rows = {r.pk: r for r in GenerationRequest.objects.filter(pk__in=ids)}
    assert all(r.status == GenerationStatus.DONE for r in rows.values())
    assert rows[requests[1].pk].attempts == 2
    assert rows[requests[0].pk].attempts == 1 and rows[requests[2].pk].attempts == 1
    # 3 rows in the first batch, then retries carry only the failed one.
    assert sizes[0] == 3 and set(sizes[1:]) == {1}


def test_requeue_sweep_sends_a_turn_as_one_batch(fake_backends, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(pool=[campaign])
    requests = _turn(campaign, [endpoint], k=4)
    other_turn = _turn(campaign, [endpoint], k=2)
    GenerationRequest.objects.update(
        celery_task_id="", created_at=timezone.now() - timedelta(minutes=5)
    )
    sent: list[list[int]] = []
    monkeypatch.setattr(
        "modelserve.generation.recovery.enqueue", lambda task, ids: sent.append(list(ids)) or "t"
    )
    assert generation_requeue_stalled() == 6
    assert sent == [sorted(r.pk for r in requests), sorted(r.pk for r in other_turn)]
    assert generation_groups(request_ids=[]) == []


def test_text_is_stored_while_it_streams_and_finish_reason_after(fake_backends, monkeypatch):
    from modelserve.generation.backends import GenerationResult
    from modelserve.generation.backends.fake import FakeBackend

    seen: list[str] = []

    def streaming(self, messages, params, on_text=None):
        on_text("Hel")  # the first piece is written at once, not after 100 ms
        seen.append(GenerationRequest.objects.get(pk=req.pk).partial_text)
        on_text("lo")
        return GenerationResult(text="Hello", n_tokens=2, finish_reason="length")

    campaign = CampaignFactory(config={"generation_params": {"max_new_tokens": 2}})
    (req,) = _turn(campaign, [ModelEndpointFactory(pool=[campaign])], k=1, task_type="rating")
    assert req.params["max_new_tokens"] == 2  # the campaign's budget reaches the row
    monkeypatch.setattr(FakeBackend, "generate", streaming)
    generate_batch.apply(args=[[req.pk]]).get()
    req.refresh_from_db()
    assert seen == ["Hel"]
    assert req.partial_text == "Hello" and req.finish_reason == "length"
    assert req.response.metadata["finish_reason"] == "length"


def test_a_prompt_longer_than_the_context_is_cut_with_a_notice(tiny_model_dir):
    """The tiny model has a 512-token context: the oldest turns go, the reply still comes."""
    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(
        backend="local", model=str(tiny_model_dir), params={"max_new_tokens": 4}, pool=[campaign]
    )
    prompt = PromptFactory(campaign=campaign)
    prompt.messages = [
        {"role": "user", "content": "old turn " * 200},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]
    prompt.save()
    plan = candidate_plan(campaign=campaign, endpoints=[endpoint], k=1)
    (req,) = generation_requests_create(
        campaign=campaign, prompt=prompt, plan=plan, purpose=GenerationPurpose.LIVE
    )
    generate_batch.apply(args=[[req.pk]]).get()
    req.refresh_from_db()
    assert req.status == GenerationStatus.DONE
    assert "left out" in req.notice and req.response.metadata["notice"] == req.notice


def test_soft_stop_only_at_a_sentence_end_past_80_percent():
    from modelserve.generation.backends.base import soft_stop_at

    assert not soft_stop_at("One sentence.", 50, 100)
    assert soft_stop_at("One sentence.", 80, 100)
    assert not soft_stop_at("One sentence and more", 90, 100)
    assert soft_stop_at("Done!\n", 85, 100)
