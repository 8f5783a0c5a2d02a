"""A full disk or an unwritable model directory during a refit: the run fails with a
clear error, nothing is promoted, nothing half-written is left, serving is unchanged."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from modelserve.learning.models import CampaignServing, RewardModelVersion, RunStatus, TrainingRun
from modelserve.learning.refits import training_run_create, training_run_execute
from modelserve.learning.tasks import refit_run
from tests.factories import CampaignFactory
from tests.modelserve.learning.helpers import annotator_with_profile, pairwise_campaign_labels

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(settings, tmp_path):
    settings.CHORUS_MODEL_DIR = tmp_path / "models"
    c = CampaignFactory(
        config={"refit": {"val_fraction": 0.3, "reward": {"epochs": 20, "max_length": 48}}}
    )
    annotators = [annotator_with_profile(age_band="18-24"), annotator_with_profile(age_band="65+")]
    pairwise_campaign_labels(c, 16, annotators)
    first = training_run_execute(run_id=training_run_create(campaign=c, kind="reward").pk)
    assert first.status == RunStatus.SUCCEEDED, first.error
    return c


def _serving(campaign):
    return (
        CampaignServing.objects.filter(campaign=campaign)
        .values_list("reward_model_id", "policy_id")
        .first()
    )


def test_disk_full_while_saving_artifacts(campaign, monkeypatch):
    before = _serving(campaign)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("modelserve.training.reward.save_reward_model", full)
    run = training_run_create(campaign=campaign, kind="reward")
    assert refit_run(run.pk) == "failed"  # the Celery task reports, never crashes the worker
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "No space left on device" in run.error and "No space left" in run.log
    assert not RewardModelVersion.objects.filter(training_run=run).exists()
    assert _serving(campaign) == before
    from django.conf import settings

    root = Path(settings.CHORUS_MODEL_DIR)
    leftovers = [p.name for p in (root / "refits" / campaign.slug).iterdir()]
    assert not [n for n in leftovers if n.endswith(".partial")], leftovers


def test_unwritable_model_directory(campaign, settings, tmp_path):
    before = _serving(campaign)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the model directory should be")
    settings.CHORUS_MODEL_DIR = blocker / "models"  # ENOTDIR even for root
    run = training_run_create(campaign=campaign, kind="reward")
    assert refit_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Not a directory" in run.error
    assert not RewardModelVersion.objects.filter(training_run=run).exists()
    assert _serving(campaign) == before
    assert TrainingRun.objects.filter(campaign=campaign, status=RunStatus.SUCCEEDED).count() == 1
