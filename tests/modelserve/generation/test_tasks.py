"""Generation tasks: idempotent under redelivery, retried on backend errors, then recorded."""

from __future__ import annotations

import dataclasses

import pytest

from annotate.models import Response
from modelserve.generation.batch import generation_run
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus
from modelserve.generation.requests import candidate_plan, generation_requests_create
from modelserve.generation.tasks import generate_response
from tests.factories import CampaignFactory, ModelEndpointFactory, PromptFactory

pytestmark = pytest.mark.django_db


def _request(campaign, endpoint, **kw) -> GenerationRequest:
    prompt = PromptFactory(campaign=campaign)
    plan = candidate_plan(campaign=campaign, endpoints=[endpoint], k=1)
    (req,) = generation_requests_create(
        campaign=campaign, prompt=prompt, plan=plan, purpose=GenerationPurpose.LIVE, **kw
    )
    return req


def test_generate_task_is_routed_to_the_generate_queue():
    from config.celery import app

    route = app.amqp.router.route({}, generate_response.name)
    assert route["queue"].name == "generate"
    assert generate_response.acks_late is True
    assert generate_response.soft_time_limit < generate_response.time_limit


def test_running_the_same_task_twice_creates_one_response(fake_backends):
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    first = generate_response.apply(args=[req.pk])
    second = generate_response.apply(args=[req.pk])  # a redelivered message
    assert first.get() == "done" and second.get() == "done"
    req.refresh_from_db()
    assert Response.objects.filter(prompt=req.prompt).count() == 1
    assert req.response.text.startswith("Reply ")
    assert req.attempts == 1
    assert fake_backends.calls == 1


def test_concurrent_duplicate_keeps_the_first_response(fake_backends, monkeypatch):
    """Two workers ran the same request at once: the finisher that comes second discards."""
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    from modelserve.generation import batch as gen

    real_finish = gen.generation_finish

    def racing_finish(**kwargs):
        # Before this worker stores its result, another delivery finishes the same request.
        monkeypatch.setattr(gen, "generation_finish", real_finish)
        generation_run(request_id=req.pk)
        return real_finish(**kwargs)

    monkeypatch.setattr(gen, "generation_finish", racing_finish)
    generation_run(request_id=req.pk)
    assert Response.objects.filter(prompt=req.prompt).count() == 1
    req.refresh_from_db()
    assert req.status == GenerationStatus.DONE


def test_backend_error_is_retried_then_recorded(fake_backends, settings):
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(model="fail", pool=[campaign]))
    result = generate_response.apply(args=[req.pk])
    assert result.get() == "failed"
    req.refresh_from_db()
    assert req.status == GenerationStatus.FAILED
    assert req.attempts == generate_response.max_retries + 1
    assert fake_backends.calls == generate_response.max_retries + 1
    assert "scripted failure" in req.error and f"attempt {req.attempts}" in req.error
    assert req.response is None and req.finished_at is not None


def test_config_error_is_not_retried(fake_backends):
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(model="fail-config", pool=[campaign]))
    assert generate_response.apply(args=[req.pk]).get() == "failed"
    req.refresh_from_db()
    assert req.attempts == 1 and "configuration" in req.error


def test_retry_succeeds_after_a_transient_error(fake_backends, monkeypatch):
    from modelserve.generation.backends import BackendError
    from modelserve.generation.backends.fake import FakeBackend

    real = FakeBackend.generate
    failures = iter([True, False])

    def flaky(self, messages, params, on_text=None):
        if next(failures):
            FakeBackend.calls += 1
            raise BackendError("connection reset")
        return real(self, messages, params, on_text)

    monkeypatch.setattr(FakeBackend, "generate", flaky)
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    assert generate_response.apply(args=[req.pk]).get() == "done"
    req.refresh_from_db()
    assert req.attempts == 2 and req.response is not None
    assert req.response.generation_params["seed"] == req.params["seed"] + 1


def test_a_deleted_request_is_a_no_op(fake_backends):
    assert generate_response.apply(args=[987654321]).get() == "gone"


def test_endless_redelivery_gives_up(fake_backends):
    """A worker killed by the hard limit is redelivered; past a bound we record failure."""
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    GenerationRequest.objects.filter(pk=req.pk).update(
        attempts=generate_response.max_retries + 3, status=GenerationStatus.RUNNING
    )
    assert generate_response.apply(args=[req.pk]).get() == "failed"
    req.refresh_from_db()
    assert "gave up" in req.error and fake_backends.calls == 0


def test_admin_retry_requeues_failed(fake_backends, django_capture_on_commit_callbacks):
    from modelserve.generation.requests import generation_retry

    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(model="fail-config", pool=[campaign]))
    generate_response.apply(args=[req.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        assert generation_retry(request_ids=[req.pk]) == 1
    assert len(callbacks) == 1
    req.refresh_from_db()
    assert req.status == GenerationStatus.PENDING and req.attempts == 0 and req.error == ""


@pytest.mark.parametrize("blank", ["", "  \n", "-", "#", "---", "* ", "```\n```", "> "])
def test_a_reply_that_shows_no_text_is_retried(fake_backends, monkeypatch, blank):
    """A small model sometimes ends a reply at once after "-" or "#": rendered, that is an
    empty list item or heading, which nobody can rate. It is retried like a failure."""
    from modelserve.generation.backends.fake import FakeBackend

    real = FakeBackend.generate
    replies = iter([blank, None])

    def first_blank(self, messages, params, on_text=None):
        text = next(replies)
        if text is None:
            return real(self, messages, params, on_text)
        return dataclasses.replace(real(self, messages, params, on_text), text=text)

    monkeypatch.setattr(FakeBackend, "generate", first_blank)
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    assert generate_response.apply(args=[req.pk]).get() == "done"
    req.refresh_from_db()
    assert req.attempts == 2 and fake_backends.calls == 2
    assert req.response.text.startswith("Reply ")


def test_a_judge_answer_is_kept_though_it_renders_as_no_text(fake_backends, monkeypatch):
    # "5." alone renders as an empty numbered list item, but a judge's answer is parsed,
    # never shown: it is a rating, not a blank reply.
    from modelserve.generation.backends.fake import FakeBackend

    real = FakeBackend.generate
    monkeypatch.setattr(
        FakeBackend,
        "generate",
        lambda self, m, p, on_text=None: dataclasses.replace(real(self, m, p, on_text), text="5."),
    )
    campaign = CampaignFactory()
    req = _request(campaign, ModelEndpointFactory(pool=[campaign]))
    GenerationRequest.objects.filter(pk=req.pk).update(purpose=GenerationPurpose.JUDGE)
    done = generation_run(request_id=req.pk)
    assert done is not None and done.status == GenerationStatus.DONE
    assert done.partial_text == "5." and done.attempts == 1
