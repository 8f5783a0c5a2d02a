"""Refit runs end to end: promotion, gates, a killed run, the lock, the command, admin."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from modelserve.models import (
    CampaignServing,
    ModelEndpoint,
    PolicyVersion,
    RewardModelVersion,
    RunStatus,
    TrainingRun,
    VersionStatus,
)
from modelserve.training_services import (
    RefitAlreadyActive,
    training_run_create,
    training_run_execute,
    version_promote,
)
from tests.factories import CampaignFactory, UserFactory

from .helpers import annotator_with_profile, pairwise_campaign_labels

pytestmark = pytest.mark.django_db

FAST_REWARD = {"epochs": 30, "max_length": 48}


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.CHORUS_MODEL_DIR = tmp_path
    return tmp_path


@pytest.fixture
def labelled_campaign():
    campaign = CampaignFactory(
        config={
            "refit": {
                "val_fraction": 0.3,
                "reward": FAST_REWARD,
                "group_by": "age_band",
            }
        }
    )
    annotators = [annotator_with_profile(age_band="18-24"), annotator_with_profile(age_band="65+")]
    pairwise_campaign_labels(campaign, 24, annotators)
    return campaign


def serving_of(campaign):
    return CampaignServing.objects.filter(campaign=campaign).first()


def test_reward_refit_promotes_then_a_gated_run_changes_nothing(labelled_campaign):
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(run.data_hash) == 64 and run.n_examples == 24
    assert run.metrics["val_accuracy"] == 1.0  # helpful vs rude is easy
    assert 0 <= run.metrics["val_ece"] <= 1
    assert set(run.metrics["val_accuracy_by_group"]) <= {"18-24", "65+"}
    assert run.curves["train_loss"] and run.progress == 1.0
    v1 = RewardModelVersion.objects.get(training_run=run)
    assert v1.status == VersionStatus.SERVING and v1.data_hash == run.data_hash
    assert Path(v1.artifact_dir, "reward_head.pt").is_file()
    assert serving_of(labelled_campaign).reward_model == v1

    labelled_campaign.config["refit"]["gates"] = {"reward_min_val_accuracy": 1.01}
    labelled_campaign.save()
    gated = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert gated.status == RunStatus.GATED
    assert "1.01" in gated.metrics["gate_reasons"][0]
    # The serving model was scored on the new run's validation pairs for the gate.
    assert gated.metrics["val_accuracy_serving"] == 1.0
    v2 = RewardModelVersion.objects.get(training_run=gated)
    assert v2.status == VersionStatus.REJECTED
    assert serving_of(labelled_campaign).reward_model == v1
    assert gated.data_hash == run.data_hash  # same labels, same snapshot


def test_killed_run_leaves_serving_untouched(labelled_campaign, model_dir):
    first = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    before = serving_of(labelled_campaign)

    def kill(step, total, stats):
        if step == 3:
            raise KeyboardInterrupt("killed mid-training")

    run = training_run_create(campaign=labelled_campaign, kind="reward")
    with pytest.raises(KeyboardInterrupt):
        training_run_execute(run_id=run.pk, step_hook=kill)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "killed mid-training" in run.error
    after = serving_of(labelled_campaign)
    assert (after.reward_model_id, after.policy_id) == (before.reward_model_id, before.policy_id)
    assert RewardModelVersion.objects.filter(campaign=labelled_campaign).count() == 1
    # No half-written artifacts are left, and the lock is free again.
    leftovers = [p.name for p in (model_dir / "refits" / labelled_campaign.slug).iterdir()]
    assert leftovers == [Path(first.artifact_dir).name]
    training_run_create(campaign=labelled_campaign, kind="reward")


def test_one_active_run_per_campaign_and_kind_and_claiming_is_idempotent(labelled_campaign):
    run = training_run_create(campaign=labelled_campaign, kind="reward")
    with pytest.raises(RefitAlreadyActive):
        training_run_create(campaign=labelled_campaign, kind="reward")
    other = training_run_create(campaign=labelled_campaign, kind="dpo")  # other kind is fine
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    # A redelivered task finds the run claimed and does nothing.
    assert training_run_execute(run_id=run.pk).status == RunStatus.RUNNING
    assert other.status == RunStatus.QUEUED
    with pytest.raises(ValueError, match="Unknown refit kind"):
        training_run_create(campaign=labelled_campaign, kind="sft")


def test_dpo_refit_promotes_a_policy_into_the_generation_pool(labelled_campaign, tiny_policy_dir):
    v1 = PolicyVersion.objects.create(
        campaign=labelled_campaign, version=1, artifact_dir=str(tiny_policy_dir)
    )
    version_promote(version=v1)
    first_endpoint = ModelEndpoint.objects.get(policy_version=v1)
    assert labelled_campaign in first_endpoint.campaigns.all()
    labelled_campaign.config["refit"]["dpo"] = {
        "lr": 1e-3,
        "epochs": 1,
        "batch_size": 8,
        "eval_prompts": 2,
        "eval_max_new_tokens": 4,
    }
    labelled_campaign.config["refit"]["gates"] = {"dpo_max_ranking_accuracy_drop": None}
    labelled_campaign.save()
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="dpo").pk
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    v2 = PolicyVersion.objects.get(training_run=run)
    assert v2.parent == v1 and v2.version == 2 and v2.status == VersionStatus.SERVING
    assert serving_of(labelled_campaign).policy == v2
    assert Path(v2.artifact_dir, "config.json").is_file()
    endpoint = ModelEndpoint.objects.get(policy_version=v2)
    assert (endpoint.backend, endpoint.model) == ("local", v2.artifact_dir)
    assert endpoint.anon_label.startswith("Model ")
    pool = set(labelled_campaign.model_pool.all())
    assert endpoint in pool and first_endpoint not in pool
    for key in (
        "val_reward_accuracy",
        "kl_to_reference",
        "val_ranking_accuracy",
        "mean_response_tokens",
    ):
        assert key in run.metrics


def test_refit_command(labelled_campaign):
    call_command("refit", "--campaign", labelled_campaign.slug, "--kind", "reward")
    assert TrainingRun.objects.get(campaign=labelled_campaign).status == RunStatus.SUCCEEDED
    with pytest.raises(CommandError, match="No campaign"):
        call_command("refit", "--campaign", "nope", "--kind", "reward")


def test_admin_pages_show_runs_curves_and_history(client, labelled_campaign):
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/modelserve/trainingrun/{run.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "train_loss" in body and run.data_hash in body
    serving = serving_of(labelled_campaign)
    page = client.get(f"/admin/modelserve/campaignserving/{serving.pk}/change/")
    assert page.status_code == 200 and "reward model v1" in page.content.decode()
    page = client.post(
        f"/admin/modelserve/campaignserving/{serving.pk}/change/",
        {
            "refit_enabled": "on",
            "every_minutes": "15",
            "min_new_labels": "20",
            "kinds": ["reward"],
        },
    )
    assert page.status_code == 302
    labelled_campaign.refresh_from_db()
    refit = labelled_campaign.config["refit"]
    assert (refit["enabled"], refit["every_minutes"], refit["min_new_labels"]) == (True, 15, 20)
    assert refit["reward"] == FAST_REWARD  # other keys survive


def test_active_sampling_puts_the_least_certain_pairs_first(labelled_campaign):
    from annotate.models import Item, Response
    from tests.factories import ItemFactory

    from .helpers import response_ids

    labelled_campaign.config["refit"]["active_sampling"] = True
    labelled_campaign.save()
    sure = ItemFactory(campaign=labelled_campaign, prompt__text="How do I bake rolls?")
    unsure = ItemFactory(campaign=labelled_campaign, prompt__text="How do I bake buns?")
    texts = {
        sure.pk: [
            "Happy to help! Mix flour, water and yeast, knead, rise and bake.",
            "No. Figure it out yourself, idiot.",
        ],
        unsure.pk: [
            "Happy to help! Mix flour, water and yeast, knead, rise and bake.",
            "Happy to help! Mix flour, water and yeast, knead, rise, then bake.",
        ],
    }
    for item in (sure, unsure):
        for rid, text in zip(response_ids(item), texts[item.pk], strict=True):
            Response.objects.filter(pk=rid).update(text=text)
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert run.status == RunStatus.SUCCEEDED
    sure.refresh_from_db()
    unsure.refresh_from_db()
    assert 0.0 <= sure.priority < unsure.priority <= 1.0
    assert Item.objects.filter(campaign=labelled_campaign, priority__gt=0).count() >= 2
