"""Pre-generation: the pool is topped up, batches become items, candidates differ."""

from __future__ import annotations

import pytest

from annotate.models import Item, ItemStatus, TaskType
from modelserve.generation.batch import generation_run
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus
from modelserve.generation.pool import pool_topup, prompt_add
from modelserve.generation.registry import endpoint_ensure_default
from modelserve.generation.requests import candidate_plan
from modelserve.generation.selectors import pool_status
from modelserve.learning.promotion import endpoint_for_policy
from tests.factories import CampaignFactory, ModelEndpointFactory, PromptFactory

pytestmark = pytest.mark.django_db


def _run_all() -> None:
    for pk in GenerationRequest.objects.filter(status="pending").values_list("pk", flat=True):
        generation_run(request_id=pk)


def test_topup_fills_pool_and_assembles_items(fake_backends, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(
        config={"pregen_pool_size": 3, "candidates_per_prompt": 2},
        task_mix={"pairwise": 1},
    )
    ModelEndpointFactory(pool=[campaign])
    ModelEndpointFactory(pool=[campaign])
    prompts = [prompt_add(campaign=campaign, messages=f"Question {n}?") for n in range(5)]
    with django_capture_on_commit_callbacks() as callbacks:
        assert pool_topup(campaign_id=campaign.pk) == 3
    assert len(callbacks) == 3  # one enqueue per batch, after commit
    assert pool_status(campaign=campaign) == {"ready": 0, "in_flight": 3, "target": 3}
    assert pool_topup(campaign_id=campaign.pk) == 0  # in-flight batches count

    reqs = list(GenerationRequest.objects.filter(campaign=campaign))
    assert len(reqs) == 6
    assert {r.prompt_id for r in reqs} == {p.pk for p in prompts[:3]}
    # Different endpoints within a batch: the default diversity strategy.
    for batch in {r.batch for r in reqs}:
        assert len({r.endpoint_id for r in reqs if r.batch == batch}) == 2

    _run_all()
    items = list(Item.objects.filter(campaign=campaign))
    assert len(items) == 3
    assert all(i.task_type == TaskType.PAIRWISE and i.responses.count() == 2 for i in items)
    assert all(i.metadata["source"] == "pregenerated" for i in items)
    assert pool_status(campaign=campaign)["ready"] == 3
    # Draining the pool (items filled) makes the topper use the remaining prompts only.
    Item.objects.filter(campaign=campaign).update(status=ItemStatus.RETIRED)
    assert pool_topup(campaign_id=campaign.pk) == 2


def test_failed_batch_is_not_retried_by_the_topper(fake_backends):
    campaign = CampaignFactory(config={"pregen_pool_size": 2}, task_mix={"rating": 1})
    ModelEndpointFactory(model="fail-config", pool=[campaign])
    prompt_add(campaign=campaign, messages="Only prompt")
    assert pool_topup(campaign_id=campaign.pk) == 1
    _run_all()
    assert GenerationRequest.objects.filter(status=GenerationStatus.FAILED).count() == 2
    assert pool_topup(campaign_id=campaign.pk) == 0
    assert not Item.objects.filter(campaign=campaign).exists()


def test_topup_skips_closed_campaigns_and_live_only_mixes(fake_backends):
    closed = CampaignFactory(status="closed")
    ModelEndpointFactory(pool=[closed])
    prompt_add(campaign=closed, messages="Hello?")
    assert pool_topup(campaign_id=closed.pk) == 0
    live = CampaignFactory(task_mix={"conversation": 1})
    ModelEndpointFactory(pool=[live])
    prompt_add(campaign=live, messages="Hello?")
    assert pool_topup(campaign_id=live.pk) == 0


def test_temperature_and_system_prompt_diversity():
    campaign = CampaignFactory(
        config={
            "diversity": ["temperatures", "system_prompts"],
            "diversity_temperatures": [0.2, 1.0],
            "generation_params": {"max_new_tokens": 50},
        }
    )
    endpoint = ModelEndpointFactory(params={"temperature": 0.7, "top_p": 0.9})
    plan = candidate_plan(campaign=campaign, endpoints=[endpoint], k=4)
    temps = [p["temperature"] for _, p in plan]
    assert temps == [0.2, 1.0, 0.2, 1.0]
    assert len({p["system_prompt"] for _, p in plan}) == 4
    assert len({p["seed"] for _, p in plan}) == 4
    assert all(p["max_new_tokens"] == 50 and p["top_p"] == 0.9 for _, p in plan)


def test_sample_indexes_continue_per_endpoint(fake_backends):
    from modelserve.generation.requests import generation_requests_create

    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(pool=[campaign])
    prompt = PromptFactory(campaign=campaign)
    plan = candidate_plan(campaign=campaign, endpoints=[endpoint], k=2)
    first = generation_requests_create(
        campaign=campaign,
        prompt=prompt,
        plan=plan,
        purpose=GenerationPurpose.POOL,
        task_type="pairwise",
    )
    second = generation_requests_create(
        campaign=campaign,
        prompt=prompt,
        plan=plan,
        purpose=GenerationPurpose.POOL,
        task_type="pairwise",
    )
    assert [r.sample_index for r in first + second] == [0, 1, 2, 3]


def test_endpoint_ensure_default_is_idempotent():
    campaign = CampaignFactory()
    first = endpoint_ensure_default(campaign=campaign)
    again = endpoint_ensure_default(campaign=campaign)
    assert [e.pk for e in first] == [e.pk for e in again]
    assert len(first) == 4
    assert {e.backend for e in first} == {"local"} and {e.model for e in first} == {"default"}
    assert len({e.anon_label for e in first}) == 4
    assert set(campaign.model_pool.all()) == set(first)


def test_policy_version_is_served_from_its_artifact_dir(tiny_model_dir):
    """The contract with training: a PolicyVersion's HF folder becomes a local endpoint."""
    from modelserve.generation.backends import SamplingParams, backend_get
    from modelserve.learning.models import PolicyVersion

    campaign = CampaignFactory()
    policy = PolicyVersion.objects.create(
        campaign=campaign, version=1, artifact_dir=str(tiny_model_dir)
    )
    endpoint = endpoint_for_policy(policy_version=policy, campaign=campaign)
    assert endpoint_for_policy(policy_version=policy).pk == endpoint.pk
    assert endpoint.model == str(tiny_model_dir) and endpoint.policy_version == policy
    backend = backend_get(backend=endpoint.backend, model=endpoint.model)
    result = backend.generate(
        [{"role": "user", "content": "hi"}], SamplingParams(max_new_tokens=3, seed=1)
    )
    assert result.n_tokens is not None and result.n_tokens >= 1


def test_policy_response_records_its_policy_version(tiny_model_dir):
    from modelserve.generation.requests import generation_requests_create
    from modelserve.learning.models import PolicyVersion

    campaign = CampaignFactory()
    policy = PolicyVersion.objects.create(
        campaign=campaign, version=1, artifact_dir=str(tiny_model_dir)
    )
    endpoint = endpoint_for_policy(policy_version=policy, campaign=campaign)
    prompt = PromptFactory(campaign=campaign)
    plan = [(endpoint, {"max_new_tokens": 8, "temperature": 1.0, "seed": 5})]
    (req,) = generation_requests_create(
        campaign=campaign, prompt=prompt, plan=plan, purpose=GenerationPurpose.LIVE
    )
    done = generation_run(request_id=req.pk)
    assert done is not None and done.status == GenerationStatus.DONE, done and done.error
    assert done.response.policy_version_id == policy.pk
    assert done.response.endpoint_id == endpoint.pk
