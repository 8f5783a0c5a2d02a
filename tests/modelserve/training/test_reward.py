"""The reward model on synthetic preferences: fit, metrics, per-group heads, save/load,
and the optional full fine-tune of the encoder (run on CPU here, tiny)."""

from __future__ import annotations

import numpy as np
import pytest

from modelserve.training.data import LabelRecord, build_dataset
from modelserve.training.reward import (
    RewardConfig,
    RewardScorer,
    save_reward_model,
    train_reward_model,
)

GOOD = "Sure! Here is a careful, friendly explanation with the steps you need, item {i}."
BAD = "Go away, I will not help you with {i}."


def dataset(n: int = 40, flip_group: str | None = None):
    """Group "a" prefers polite answers; group "b" too, unless ``flip_group`` is "b"."""
    records = []
    for i in range(n):
        group = "a" if i % 2 else "b"
        chosen, rejected = 1, 2
        if group == flip_group:
            chosen, rejected = 2, 1
        records.append(
            LabelRecord(
                annotation_id=i,
                task_type="pairwise",
                annotator=f"ann{i % 4}",
                prompt_key=f"p{i}",
                prompt=({"role": "user", "content": f"Help with {i}?"},),
                responses={1: GOOD.format(i=i), 2: BAD.format(i=i)},
                payload={"choice": "A", "chosen": chosen, "rejected": rejected, "strength": -3},
                group=group,
            )
        )
    return build_dataset(records, val_fraction=0.3, seed=1)


def test_reward_model_learns_and_reports_metrics(tmp_path):
    ds = dataset()
    steps = []
    res = train_reward_model(
        ds,
        RewardConfig(epochs=20, max_length=32),
        cache_dir=tmp_path / "cache",
        on_step=lambda s, t, m: steps.append(s),
    )
    m = res.metrics
    assert m["val_accuracy"] == 1.0 and m["train_accuracy"] == 1.0
    assert 0.0 <= m["val_ece"] <= 0.5
    assert set(m["val_accuracy_by_group"]) == {"a", "b"}
    assert steps == list(range(1, 21))
    assert m["texts_encoded"] == 2 * ds.n_examples
    # A refit finds every feature in the cache.
    again = train_reward_model(
        ds, RewardConfig(epochs=1, max_length=32), cache_dir=tmp_path / "cache"
    )
    assert again.metrics["texts_encoded"] == 0

    save_reward_model(res, tmp_path / "rm")
    scorer = RewardScorer(tmp_path / "rm", cache_dir=tmp_path / "cache")
    scores = scorer.score(["Help with 99?"] * 2, [GOOD.format(i=99), BAD.format(i=99)])
    assert scores[0] > scores[1]


def test_per_group_heads_beat_the_pooled_model_where_groups_disagree(tmp_path):
    ds = dataset(n=60, flip_group="b")
    res = train_reward_model(
        ds,
        RewardConfig(epochs=40, max_length=32, per_group_heads=True, min_group_pairs=5),
        cache_dir=tmp_path,
    )
    per = res.metrics["per_group_heads"]
    assert set(per) == {"a", "b"}
    for g in ("a", "b"):
        assert per[g]["group_head_accuracy"] == 1.0
    # One pooled head cannot satisfy two opposite groups at once.
    assert min(per[g]["pooled_accuracy"] for g in ("a", "b")) < 1.0


def test_full_finetune_path_saves_a_loadable_encoder(tmp_path):
    ds = dataset(n=16)
    cfg = RewardConfig(
        epochs=10, max_length=24, finetune="always", finetune_batch_size=8, finetune_lr=1e-4
    )
    res = train_reward_model(ds, cfg)
    assert res.finetuned is not None
    save_reward_model(res, tmp_path / "rm")
    assert (tmp_path / "rm" / "encoder" / "config.json").is_file()
    scorer = RewardScorer(tmp_path / "rm")
    got = scorer.score(["Help with 3?"] * 2, [GOOD.format(i=3), BAD.format(i=3)])
    assert np.isfinite(got).all() and got[0] > got[1]


def test_no_pairs_is_a_clear_error():
    with pytest.raises(ValueError, match="No training pairs"):
        train_reward_model(build_dataset([]), RewardConfig())
