"""Reward features are encoded as labels arrive, so a refit only fits the head."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from annotate.services import annotation_submit, assignment_next
from modelserve.learning import features as features_warm
from modelserve.learning.models import RunStatus
from modelserve.learning.refits import training_run_create, training_run_execute
from modelserve.training.features import TextEncoder
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

from .helpers import annotator_with_profile, pairwise_campaign_labels

pytestmark = pytest.mark.django_db
REFIT = {
    "enabled": True,
    "kinds": ["reward"],
    "val_fraction": 0.3,
    "reward": {"epochs": 30, "max_length": 48},
}


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    settings.CHORUS_MODEL_DIR = tmp_path
    cache.clear()


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        features_warm, "enqueue", lambda task, *a, **k: calls.append((task, a, k)) or "id"
    )
    return calls


def test_warm_up_encodes_once_and_the_refit_then_encodes_nothing(monkeypatch):
    campaign = CampaignFactory(config={"refit": REFIT})
    pairwise_campaign_labels(campaign, 24, [annotator_with_profile(), annotator_with_profile()])
    encoded = features_warm.reward_features_warm(campaign=campaign)
    assert encoded == 48  # 24 pairs x (chosen, rejected), all new
    assert features_warm.reward_features_warm(campaign=campaign) == 0

    def no_encoding(self, prompts, responses):
        raise AssertionError("the refit should have found every feature cached")

    monkeypatch.setattr(TextEncoder, "_encode_batch", no_encoding)
    run = training_run_execute(run_id=training_run_create(campaign=campaign, kind="reward").pk)
    assert run.status == RunStatus.SUCCEEDED, run.error


def test_requests_are_debounced_and_only_for_campaigns_with_reward_refits(sent):
    on = CampaignFactory(config={"refit": REFIT})
    assert features_warm.reward_features_warm_request(campaign=on)
    assert not features_warm.reward_features_warm_request(campaign=on)  # within the window
    assert [name for name, _, _ in sent] == ["modelserve.tasks.train_features_warm"]
    assert sent[0][2]["_options"]["countdown"] == features_warm.DEBOUNCE_S
    for config in (
        {},
        {"refit": {**REFIT, "enabled": False}},
        {"refit": {**REFIT, "kinds": ["dpo"]}},
    ):
        assert not features_warm.reward_features_warm_request(
            campaign=CampaignFactory(config=config)
        )
    assert len(sent) == 1


def test_a_submitted_label_asks_for_a_warm_up(sent, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(config={"refit": REFIT})
    ItemFactory(campaign=campaign)
    annotator = AnnotatorFactory()
    lease = assignment_next(annotator=annotator, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(assignment_id=lease.pk, annotator=annotator, payload={"choice": "A"})
    assert [a for _, a, _ in sent] == [(campaign.pk,)]
