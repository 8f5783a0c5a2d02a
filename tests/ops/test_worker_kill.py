"""kill -9 a Celery worker mid-generation and mid-refit (real worker processes on Redis).

Generation: acks_late + a redelivered message -> the request is generated again by the
next worker, exactly one response is stored, nothing else changes.
Refit: the killed run is never half-promoted; the redelivered message finds the run
already claimed and does nothing; the reaper fails it cleanly; serving is unchanged.
"""

from __future__ import annotations

import time

import pytest

from annotate.models import Response
from modelserve.generation.models import GenerationRequest, GenerationStatus, ModelEndpoint
from modelserve.learning.models import CampaignServing, RewardModelVersion, RunStatus, TrainingRun
from tests.config.helpers import wait_until
from tests.factories import CampaignFactory, PromptFactory

from .conftest import celery_worker, child_env, db_url_for_children, kill9

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _serving_snapshot(campaign):
    return list(
        CampaignServing.objects.filter(campaign=campaign).values_list(
            "policy_id", "reward_model_id"
        )
    )


def test_generation_worker_killed_mid_task_is_redone_once(tmp_path):
    from modelserve.generation.tasks import generate_response

    campaign = CampaignFactory()
    prompt = PromptFactory(campaign=campaign, text="Tell me about tides in twelve words please")
    endpoint = ModelEndpoint.objects.create(name="slow-fake", backend="fake", model="echo:0.5")
    req = GenerationRequest.objects.create(
        campaign=campaign,
        prompt=prompt,
        endpoint=endpoint,
        purpose="pool",
        batch="b1",
        task_type="rating",
        params={"max_new_tokens": 40, "temperature": 0.7},
    )
    serving_before = _serving_snapshot(campaign)
    env = child_env(DATABASE_URL=db_url_for_children(), CHORUS_MODEL_DIR=str(tmp_path))
    log = tmp_path / "worker.log"
    with celery_worker(env, "generate", log) as first:
        generate_response.apply_async(args=[req.pk], queue="generate")
        started = wait_until(
            lambda: GenerationRequest.objects.filter(pk=req.pk).exclude(partial_text="").exists(),
            timeout=40,
        )
        assert started, log.read_text()[-3000:]
        kill9(first)
    req.refresh_from_db()
    assert req.response_id is None and req.status == GenerationStatus.RUNNING
    assert req.attempts == 1
    with celery_worker(env, "generate", log):
        done = wait_until(
            lambda: GenerationRequest.objects.filter(pk=req.pk, status="done").exists(),
            timeout=60,
        )
        assert done, log.read_text()[-3000:]
    req.refresh_from_db()
    assert req.attempts == 2  # redelivered exactly once, generated once more
    assert Response.objects.filter(prompt=prompt).count() == 1
    assert Response.objects.get(prompt=prompt).pk == req.response_id
    assert GenerationRequest.objects.filter(prompt=prompt).count() == 1
    assert _serving_snapshot(campaign) == serving_before


def test_refit_worker_killed_mid_run_fails_cleanly(tmp_path):
    from modelserve.learning.refits import training_run_create, training_runs_reap_stale
    from modelserve.learning.tasks import refit_run
    from tests.modelserve.learning.helpers import annotator_with_profile, pairwise_campaign_labels

    campaign = CampaignFactory(
        config={"refit": {"val_fraction": 0.3, "reward": {"epochs": 4000, "max_length": 48}}}
    )
    annotators = [annotator_with_profile(age_band="18-24"), annotator_with_profile(age_band="65+")]
    pairwise_campaign_labels(campaign, 24, annotators)
    serving_before = _serving_snapshot(campaign)
    run = training_run_create(campaign=campaign, kind="reward")
    env = child_env(DATABASE_URL=db_url_for_children(), CHORUS_MODEL_DIR=str(tmp_path / "models"))
    log = tmp_path / "worker.log"
    with celery_worker(env, "train", log) as first:
        refit_run.apply_async(args=[run.pk], queue="train")
        running = wait_until(
            lambda: (
                TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING)
                .exclude(data_hash="")
                .exists()
            ),
            timeout=60,
        )
        assert running, log.read_text()[-3000:]
        time.sleep(0.5)
        kill9(first)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # nobody could mark it: the process is gone
    with celery_worker(env, "train", log):
        # The message comes back (visibility timeout); the run is already claimed, so the
        # second delivery must not start a second training.
        assert wait_until(lambda: "succeeded" in log.read_text(), timeout=90), log.read_text()[
            -3000:
        ]
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert not RewardModelVersion.objects.filter(training_run=run).exists()
    campaign.config["refit"]["max_run_minutes"] = 0
    campaign.save(update_fields=["config"])
    assert training_runs_reap_stale(campaign=campaign) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "presumed killed" in run.error
    assert _serving_snapshot(campaign) == serving_before
    assert not RewardModelVersion.objects.filter(campaign=campaign).exists()
    refits = tmp_path / "models" / "refits" / campaign.slug
    promoted = (
        [p for p in refits.iterdir() if not p.name.startswith(".")] if refits.exists() else []
    )
    assert promoted == []
    # The lock is free again: a new refit can be queued.
    training_run_create(campaign=campaign, kind="reward")
