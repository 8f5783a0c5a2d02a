"""What one refit trains: the reward model or the DPO policy, from a data snapshot, into
a folder; and the reporter that writes a run's progress and log lines to its row.

The ML libraries are imported inside the training functions: they are heavy (torch,
transformers: seconds and hundreds of MB) and only the "train" worker needs them, while
web processes import this module through the refit services.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.utils import timezone

from modelserve.generation.model_files import load_causal_lm, resolve_model_dir
from modelserve.learning.features import feature_cache_dir
from modelserve.learning.models import CampaignServing, TrainingRun
from modelserve.training.data import Dataset, prompt_text
from modelserve.training.metrics import pairwise_accuracy

logger = logging.getLogger(__name__)
StepHook = Callable[[int, int, dict[str, float]], None]
Trained = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


class Reporter:
    """Progress and log lines to the run row, at most every second (a step may be 10 ms)."""

    def __init__(self, run: TrainingRun, hook: StepHook | None):
        self.run, self.hook, self.last = run, hook, 0.0
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self.lines.append(f"{stamp} {line}")
        logger.info("run %s: %s", self.run.pk, line)
        self.flush()

    def step(self, step: int, total: int, stats: dict[str, float]) -> None:
        if self.hook is not None:
            self.hook(step, total, stats)
        if time.monotonic() - self.last > 1.0 or step == total:
            TrainingRun.objects.filter(pk=self.run.pk).update(progress=step / max(total, 1))
            self.last = time.monotonic()

    def flush(self) -> None:
        TrainingRun.objects.filter(pk=self.run.pk).update(log="\n".join(self.lines))


def train_reward_run(
    run: TrainingRun, ds: Dataset, out: Path, rep: Reporter, current: CampaignServing | None
) -> Trained:
    """Fit the reward model, save it in ``out``; score the serving one on the same
    validation pairs (a like-for-like gate). Returns (metrics, curves, config)."""
    from modelserve.training.reward import (  # heavy, optional: see the module docstring
        RewardConfig,
        RewardScorer,
        save_reward_model,
        train_reward_model,
    )

    cfg = RewardConfig.from_dict(run.config.get("reward"))
    res = train_reward_model(ds, cfg, cache_dir=feature_cache_dir(), on_step=rep.step, log=rep.log)
    save_reward_model(res, out)
    metrics = dict(res.metrics)
    if current and current.reward_model and current.reward_model.artifact_dir and ds.val_pairs:
        # The serving model scored on this run's validation pairs: a like-for-like gate.
        try:
            old = RewardScorer(
                Path(current.reward_model.artifact_dir), cache_dir=feature_cache_dir()
            )
            prompts = [prompt_text(p.prompt) for p in ds.val_pairs]
            sc = old.score(prompts, [p.chosen for p in ds.val_pairs])
            sr = old.score(prompts, [p.rejected for p in ds.val_pairs])
            # Graded as val_accuracy is (a tie is half right), so the gate compares like with like.
            metrics["val_accuracy_serving"] = pairwise_accuracy(sc - sr)
        except Exception as exc:  # an unreadable old model must not block a new one
            rep.log(f"serving reward model not scored: {exc!r}")
    return metrics, res.curves, asdict(cfg)


def train_dpo_run(
    run: TrainingRun, ds: Dataset, out: Path, rep: Reporter, current: CampaignServing | None
) -> Trained:
    """DPO from the serving policy (else the default model), saved in ``out``; scored by
    the serving reward model when there is one. Returns (metrics, curves, config)."""
    # Heavy, optional: see the module docstring.
    from modelserve.training.dpo import DPOConfig, train_dpo
    from modelserve.training.reward import RewardScorer

    cfg = DPOConfig.from_dict(run.config.get("dpo"))
    base = current.policy.artifact_dir if current and current.policy else "default"
    model, tokenizer = load_causal_lm(resolve_model_dir(base))
    score_fn = None
    if current and current.reward_model and current.reward_model.artifact_dir:
        scorer = RewardScorer(
            Path(current.reward_model.artifact_dir), cache_dir=feature_cache_dir()
        )
        score_fn = scorer.score
    rep.log(f"policy from {base}; reward model for scoring: {bool(score_fn)}")
    res = train_dpo(model, tokenizer, ds, cfg, on_step=rep.step, log=rep.log, score_fn=score_fn)
    res.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return res.metrics, res.curves, {**asdict(cfg), "base": base}
