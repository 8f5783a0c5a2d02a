"""The DPO loop: margins rise on a tiny model, reference log-probs are computed once,
IPO / listwise / LoRA variants train, and the real default model runs a few steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from modelserve.training import dpo as dpo_module
from modelserve.training import dpo_eval
from modelserve.training.data import LabelRecord, build_dataset
from modelserve.training.dpo import DPOConfig, all_logps, make_examples, train_dpo


def dataset(n: int = 24, with_lists: bool = False):
    records = [
        LabelRecord(
            annotation_id=i,
            task_type="pairwise",
            annotator="a",
            prompt_key=f"p{i}",
            prompt=({"role": "user", "content": f"Is {i} a good number?"},),
            responses={1: f"Yes, {i} is a fine number and I am glad to help.", 2: f"No {i}."},
            payload={"choice": "A", "chosen": 1, "rejected": 2, "strength": -2},
        )
        for i in range(n)
    ]
    if with_lists:
        records += [
            LabelRecord(
                annotation_id=100 + i,
                task_type="ranking",
                annotator="a",
                prompt_key=f"p{i}",
                prompt=({"role": "user", "content": f"Is {i} a good number?"},),
                responses={1: "Yes, gladly.", 2: "Maybe.", 3: "No."},
                payload={"ranking": [[1], [2], [3]]},
            )
            for i in range(n)
        ]
    return build_dataset(records, val_fraction=0.2, seed=0)


def load(folder):
    from modelserve.generation.model_files import load_causal_lm

    return load_causal_lm(folder)


def mean_margin(model, tok, pairs, cfg):
    exs = make_examples(tok, pairs, cfg)
    lp = all_logps(model, exs, 8, tok.pad_token_id, "cpu").view(-1, 2)
    return (lp[:, 0] - lp[:, 1]).mean().item()


def test_dpo_raises_the_chosen_over_rejected_margin(tiny_policy_dir, monkeypatch):
    model, tok = load(tiny_policy_dir)
    ds = dataset()
    cfg = DPOConfig(lr=1e-3, epochs=3, batch_size=4, eval_prompts=2, eval_max_new_tokens=6)
    before = mean_margin(model, tok, ds.train_pairs, cfg)
    calls = []
    real = dpo_module.all_logps

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(dpo_module, "all_logps", counting)
    monkeypatch.setattr(dpo_eval, "all_logps", counting)
    steps = []
    res = train_dpo(
        model,
        tok,
        ds,
        cfg,
        on_step=lambda s, t, m: steps.append((s, t)),
        # A float32 array, as RewardScorer.score returns.
        score_fn=lambda prompts, texts: np.array([len(x) for x in texts], dtype=np.float32),
    )
    after = mean_margin(res.model, tok, ds.train_pairs, cfg)
    assert after > before + 1.0, (before, after)
    m = res.metrics
    assert m["steps"] == len(steps) == steps[-1][1] == 15  # 20 train pairs / 4 x 3 epochs
    # Reference log-probs: train, val and lists once up front, then one evaluation pass;
    # never per step (15 steps here).
    assert len(calls) == 4
    for key in (
        "train_loss",
        "val_reward_accuracy",
        "val_reward_margin",
        "kl_to_reference",
        "val_ranking_accuracy",
        "mean_response_tokens",
        "rm_score_new",
        "rm_score_reference",
        "pairs_per_second",
        "tokens_per_second",
    ):
        assert math.isfinite(m[key]), key
    # Plain Python numbers, never numpy scalars: the refit stores them in JSON fields.
    assert {type(v) for v in m.values()} <= {int, float}
    assert m["kl_to_reference"] > 0
    assert res.curves["train_loss"][-1][1] < res.curves["train_loss"][0][1]


@pytest.mark.parametrize(
    "cfg",
    [
        DPOConfig(loss="ipo", lr=1e-3, epochs=2, batch_size=4, eval_prompts=0),
        DPOConfig(lr=1e-3, epochs=2, batch_size=4, eval_prompts=0, listwise_weight=1.0),
        DPOConfig(lr=1e-2, epochs=3, batch_size=4, eval_prompts=0, lora_rank=4),
    ],
    ids=["ipo", "listwise", "lora"],
)
def test_variants_train_and_raise_the_margin(tiny_policy_dir, cfg):
    model, tok = load(tiny_policy_dir)
    names_before = sorted(n for n, _ in model.named_parameters())
    ds = dataset(with_lists=cfg.listwise_weight > 0)
    before = mean_margin(model, tok, ds.train_pairs, cfg)
    res = train_dpo(model, tok, ds, cfg)
    assert mean_margin(res.model, tok, ds.train_pairs, cfg) > before
    if cfg.listwise_weight:
        assert "listwise_loss" in res.curves
    # LoRA adapters are merged back: the saved policy is a plain model again.
    assert sorted(n for n, _ in res.model.named_parameters()) == names_before


def test_no_pairs_is_a_clear_error(tiny_policy_dir):
    model, tok = load(tiny_policy_dir)
    with pytest.raises(ValueError, match="No training pairs"):
        train_dpo(model, tok, build_dataset([]), DPOConfig())


@pytest.mark.slow
def test_real_default_model_runs_a_few_dpo_steps(tokenizer_dir):
    torch.manual_seed(0)
    model, tok = load(tokenizer_dir)
    ds = dataset(n=6)
    cfg = DPOConfig(
        max_steps=2,
        batch_size=2,
        max_prompt_tokens=32,
        max_response_tokens=24,
        eval_prompts=1,
        eval_max_new_tokens=4,
    )
    res = train_dpo(model, tok, ds, cfg)
    assert res.metrics["steps"] == 2
    assert math.isfinite(res.metrics["train_loss"])
    assert math.isfinite(res.metrics["val_reward_accuracy"])
    assert res.metrics["kl_to_reference"] >= 0
