"""Refit runs end to end: promotion, gates, a killed run, the lock, the command, admin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from modelserve.generation.models import ModelEndpoint
from modelserve.learning.models import (
    CampaignServing,
    PolicyVersion,
    RewardModelVersion,
    RunStatus,
    TrainingRun,
    VersionStatus,
)
from modelserve.learning.promotion import version_promote
from modelserve.learning.refits import RefitAlreadyActive, training_run_create, training_run_execute
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


# --- values JSON fields cannot store, and refits that fail cleanly ---------------------


def _as_numpy(value):
    """What a numpy/torch-heavy trainer hands back: float32 floats, int64 counts, np.bool_
    flags, at any depth."""
    if isinstance(value, dict):
        return {k: _as_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float32(value)
    return value


def _numpy_metrics(metrics):
    return {**_as_numpy(metrics), "a_tensor": torch.tensor(0.5)}


def _trainer_returning(monkeypatch, module, name, *, metrics, curves=_as_numpy):
    """Wrap a real trainer so its result's metrics and curves pass through the changes;
    returns what the service was handed."""
    real = getattr(module, name)
    seen = {}

    def wrapped(*args, **kwargs):
        res = real(*args, **kwargs)
        res.metrics, res.curves = metrics(res.metrics), curves(res.curves)
        seen.update(metrics=res.metrics, curves=res.curves)
        return res

    monkeypatch.setattr(module, name, wrapped)
    return seen


def _leftovers(model_dir, campaign):
    root = model_dir / "refits" / campaign.slug
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _raw_json(table, column, pk):
    """The column's text as PostgreSQL holds it, parsed strictly (NaN is not JSON)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column}::text FROM {table} WHERE id = %s", [pk])
        (text,) = cur.fetchone()

    def refuse(token):
        raise AssertionError(f"{token} in stored JSON")

    return json.loads(text, parse_constant=refuse)


def test_reward_refit_with_numpy_metrics_stores_plain_floats(labelled_campaign, monkeypatch):
    from modelserve.training import reward

    seen = _trainer_returning(monkeypatch, reward, "train_reward_model", metrics=_numpy_metrics)
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert isinstance(seen["metrics"]["val_loss"], np.float32)
    version = RewardModelVersion.objects.get(training_run=run)
    for table, pk in (
        ("modelserve_trainingrun", run.pk),
        ("modelserve_rewardmodelversion", version.pk),
    ):
        stored = _raw_json(table, "metrics", pk)
        assert type(stored["val_loss"]) is float
        assert stored["val_loss"] == pytest.approx(float(seen["metrics"]["val_loss"]))
        assert stored["n_train_pairs"] == int(seen["metrics"]["n_train_pairs"])
        assert stored["a_tensor"] == 0.5 and stored["val_accuracy"] == 1.0
        assert all(type(g["accuracy"]) is float for g in stored["val_accuracy_by_group"].values())
    curves = _raw_json("modelserve_trainingrun", "curves", run.pk)
    assert curves["train_loss"][0][1] == pytest.approx(float(seen["curves"]["train_loss"][0][1]))


def test_dpo_refit_scored_by_the_serving_reward_model_stores_plain_floats(
    labelled_campaign, tiny_policy_dir, monkeypatch
):
    """The user's case: a campaign serving a reward model, whose float32 scores made
    ``rm_score_new`` a numpy float32 and failed the refit after training."""
    from modelserve.training import dpo

    reward_run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert reward_run.status == RunStatus.SUCCEEDED, reward_run.error
    v1 = PolicyVersion.objects.create(
        campaign=labelled_campaign, version=1, artifact_dir=str(tiny_policy_dir)
    )
    version_promote(version=v1)
    labelled_campaign.config["refit"]["dpo"] = {
        "lr": 1e-3,
        "epochs": 1,
        "batch_size": 8,
        "eval_prompts": 2,
        "eval_max_new_tokens": 4,
    }
    labelled_campaign.config["refit"]["gates"] = {"dpo_max_ranking_accuracy_drop": None}
    labelled_campaign.save()
    seen = _trainer_returning(monkeypatch, dpo, "train_dpo", metrics=_numpy_metrics)
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="dpo").pk
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert isinstance(seen["metrics"]["rm_score_new"], np.float32)
    v2 = PolicyVersion.objects.get(training_run=run)
    for table, pk in (("modelserve_trainingrun", run.pk), ("modelserve_policyversion", v2.pk)):
        stored = _raw_json(table, "metrics", pk)
        for key in ("rm_score_new", "val_loss", "kl_to_reference", "train_seconds"):
            assert type(stored[key]) is float, key
            assert stored[key] == pytest.approx(float(seen["metrics"][key]))
        assert stored["steps"] == int(seen["metrics"]["steps"]) and stored["a_tensor"] == 0.5
    assert serving_of(labelled_campaign).policy == v2


@pytest.mark.parametrize("where", ["_version_create", "version_promote_if_gated", "rename"])
def test_a_refit_failing_after_training_leaves_no_version_and_no_folder(
    labelled_campaign, model_dir, monkeypatch, where
):
    """Whatever fails after training (the version row, the gates or promotion after the
    row was written, the rename after the run's final update): nothing is kept."""
    from modelserve.learning import refits as training_services

    def boom(*args, **kwargs):
        raise RuntimeError(f"boom in {where}")

    if where == "rename":
        real_rename = Path.rename

        def rename(self, target):
            if self.name.endswith(".partial"):
                assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
                boom()
            return real_rename(self, target)

        monkeypatch.setattr(Path, "rename", rename)
    elif where == "version_promote_if_gated":

        def after_the_row(*, version, gates):
            assert RewardModelVersion.objects.filter(pk=version.pk).exists()
            boom()

        monkeypatch.setattr(training_services, where, after_the_row)
    else:
        monkeypatch.setattr(training_services, where, boom)
    run = training_run_create(campaign=labelled_campaign, kind="reward")
    with pytest.raises(RuntimeError, match=f"boom in {where}"):
        training_run_execute(run_id=run.pk)
    monkeypatch.undo()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and f"boom in {where}" in run.error
    assert "FAILED: RuntimeError" in run.log and run.finished_at is not None
    assert run.artifact_dir == "" and run.metrics == {}
    assert not RewardModelVersion.objects.filter(campaign=labelled_campaign).exists()
    assert serving_of(labelled_campaign) is None
    assert _leftovers(model_dir, labelled_campaign) == []  # neither .partial nor final
    # The lock is free, and the next refit works.
    again = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert _leftovers(model_dir, labelled_campaign) == [Path(again.artifact_dir).name]


def test_a_nan_metric_fails_the_run_naming_the_key_and_stores_nothing(
    labelled_campaign, model_dir, monkeypatch
):
    from modelserve.training import reward

    _trainer_returning(
        monkeypatch,
        reward,
        "train_reward_model",
        metrics=lambda m: {**m, "val_loss": float("nan")},
    )
    run = training_run_create(campaign=labelled_campaign, kind="reward")
    with pytest.raises(ValueError, match=r"metrics\.val_loss is NaN"):
        training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "metrics.val_loss is NaN; JSON fields cannot store NaN" in run.error
    assert _raw_json("modelserve_trainingrun", "metrics", run.pk) == {}
    assert not RewardModelVersion.objects.filter(campaign=labelled_campaign).exists()
    assert _leftovers(model_dir, labelled_campaign) == []


def test_a_refit_without_validation_pairs_stores_none_not_nan(labelled_campaign):
    """No validation pairs (val_fraction 0): validation accuracy is undefined. It is
    stored as null and the gate says why, instead of NaN failing the whole refit."""
    labelled_campaign.config["refit"]["val_fraction"] = 0.0
    labelled_campaign.save()
    run = training_run_execute(
        run_id=training_run_create(campaign=labelled_campaign, kind="reward").pk
    )
    assert run.status == RunStatus.GATED, run.error
    stored = _raw_json("modelserve_trainingrun", "metrics", run.pk)
    assert stored["val_accuracy"] is None and stored["n_val_pairs"] == 0
    assert stored["gate_reasons"] == ["no validation accuracy"]
    assert "n/a (no validation pairs)" in run.log


def test_queryset_update_and_create_go_through_the_encoder(labelled_campaign):
    run = TrainingRun.objects.create(
        campaign=labelled_campaign,
        kind="reward",
        status=RunStatus.FAILED,
        config={"lr": np.float32(0.5), "folder": Path("/x")},
    )
    TrainingRun.objects.filter(pk=run.pk).update(
        metrics={"acc": np.float32(0.75), "n": np.int64(3), "ok": np.bool_(True)},
        curves={"train_loss": [np.array([1.0, 0.5])]},
    )
    assert _raw_json("modelserve_trainingrun", "config", run.pk) == {"lr": 0.5, "folder": "/x"}
    assert _raw_json("modelserve_trainingrun", "metrics", run.pk) == {
        "acc": 0.75,
        "n": 3,
        "ok": True,
    }
    assert _raw_json("modelserve_trainingrun", "curves", run.pk) == {"train_loss": [[1.0, 0.5]]}
    # (Django marks the enclosing transaction for rollback on the error: a savepoint.)
    with pytest.raises(ValueError, match=r"^val_loss is NaN"), transaction.atomic():
        TrainingRun.objects.filter(pk=run.pk).update(metrics={"val_loss": np.float32("nan")})
    assert _raw_json("modelserve_trainingrun", "metrics", run.pk)["acc"] == 0.75
