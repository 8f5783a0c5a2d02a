"""A reward refit on real human preferences (Anthropic HH-RLHF, harmless-base test split)
imported as a campaign: validation accuracy must beat chance.

The whole file (2,312 pairs) takes minutes of MiniLM feature extraction on two cores, so
this test imports the first 1,000 rows; ``bench/bench_training.py`` reports the accuracy on
all of them. The split is by prompt and deterministic, so the figure is reproducible.
"""

from __future__ import annotations

import math

import pytest
from django.core.management import call_command

from annotate.models import Campaign
from modelserve.learning.models import CampaignServing, RunStatus
from modelserve.learning.refits import training_run_create, training_run_execute

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

N_ROWS = 1000


def test_reward_refit_on_hh_rlhf_beats_chance(shared_data, settings, tmp_path, capsys):
    settings.CHORUS_MODEL_DIR = tmp_path
    path = shared_data / "hh-rlhf-harmless-base-test.jsonl.gz"
    call_command(
        "import_items",
        "--campaign",
        "hh",
        "--create",
        "--format",
        "hh-rlhf",
        "--limit",
        str(N_ROWS),
        "--no-progress",
        str(path),
    )
    campaign = Campaign.objects.get(slug="hh")
    campaign.config = {
        "refit": {
            "include_reference_labels": True,
            "val_fraction": 0.25,
            "reward": {"max_length": 64, "epochs": 60, "batch_size": 512},
        }
    }
    campaign.save()
    run = training_run_execute(run_id=training_run_create(campaign=campaign, kind="reward").pk)
    assert run.status == RunStatus.SUCCEEDED, run.error or run.metrics
    m = run.metrics
    assert m["n_train_pairs"] + m["n_val_pairs"] == N_ROWS
    n_val = m["n_val_pairs"]
    assert n_val >= 200
    with capsys.disabled():
        print(
            f"\nHH-RLHF reward model ({N_ROWS} pairs): val accuracy {m['val_accuracy']:.3f} "
            f"on {m['n_val_pairs']} pairs, ECE {m['val_ece']:.3f}"
        )
    # Beats chance: above the one-sided 95% bound of a coin on this many validation pairs.
    assert m["val_accuracy"] > 0.5 + 1.645 * math.sqrt(0.25 / n_val)
    assert CampaignServing.objects.get(campaign=campaign).reward_model is not None
