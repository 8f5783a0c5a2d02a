"""Bradley-Terry reward model: a small head on frozen, cached text features.

Read top to bottom: config, head, features for pairs, the training loop, metrics
(accuracy, ECE, accuracy per demographic group, optional per-group heads against the
pooled head), save/load. No Django.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import Dataset, PreferencePair, prompt_text
from .features import MINILM, TextEncoder
from .losses import bradley_terry_loss, expected_calibration_error

StepCallback = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class RewardConfig:
    encoder: str = MINILM  # "minilm" or a local Hugging Face folder
    max_length: int = 128  # tokens of prompt+response the encoder sees
    hidden: int = 0  # 0: linear head; >0: one hidden layer of this width
    epochs: int = 60
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-3
    margin_weight: float = 0.5  # annotator strength as margin, in logit units
    seed: int = 0
    per_group_heads: bool = False
    min_group_pairs: int = 50  # smaller groups get no head of their own
    encode_batch_size: int = 64

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RewardConfig:
        known = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__}
        return replace(cls(), **known)


class RewardHead(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        if hidden > 0:
            self.net: nn.Module = nn.Sequential(
                nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1)
            )
        else:
            self.net = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def pair_features(
    encoder: TextEncoder, pairs: Sequence[PreferencePair]
) -> tuple[torch.Tensor, torch.Tensor]:
    prompts = [prompt_text(p.prompt) for p in pairs]
    both = encoder.encode(prompts + prompts, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    n = len(pairs)
    return torch.from_numpy(both[:n]), torch.from_numpy(both[n:])


def _fit_head(
    cfg: RewardConfig,
    fc: torch.Tensor,
    fr: torch.Tensor,
    margins: torch.Tensor,
    *,
    on_step: StepCallback | None = None,
    curves: dict[str, list[list[float]]] | None = None,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> RewardHead:
    torch.manual_seed(cfg.seed)
    head = RewardHead(fc.shape[1], cfg.hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = fc.shape[0]
    gen = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    step = 0
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        epoch_loss = 0.0
        for start in range(0, n, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            loss = bradley_terry_loss(head(fc[idx]), head(fr[idx]), cfg.margin_weight * margins[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            epoch_loss += loss.item() * len(idx)
            if on_step is not None:
                on_step(step, total, {"train_loss": loss.item()})
        if curves is not None:
            curves.setdefault("train_loss", []).append([epoch + 1, epoch_loss / max(n, 1)])
            if val is not None and val[0].shape[0]:
                with torch.no_grad():
                    acc = (head(val[0]) > head(val[1])).float().mean().item()
                curves.setdefault("val_accuracy", []).append([epoch + 1, acc])
    return head


def _accuracy(head: RewardHead, fc: torch.Tensor, fr: torch.Tensor) -> tuple[float, torch.Tensor]:
    with torch.no_grad():
        diff = head(fc) - head(fr)
    if diff.numel() == 0:
        return float("nan"), diff
    return float((diff > 0).float().mean().item()), diff


@dataclass
class RewardResult:
    head: RewardHead
    group_heads: dict[str, RewardHead]
    metrics: dict[str, Any]
    curves: dict[str, list[list[float]]]
    config: RewardConfig
    feature_dim: int


def train_reward_model(
    ds: Dataset,
    cfg: RewardConfig,
    *,
    cache_dir: Path | None = None,
    on_step: StepCallback | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> RewardResult:
    if not ds.train_pairs:
        raise ValueError("No training pairs: nothing to fit.")
    t0 = time.perf_counter()
    encoder = TextEncoder(
        cfg.encoder, max_length=cfg.max_length, batch_size=cfg.encode_batch_size,
        cache_dir=cache_dir,
    )
    tr_c, tr_r = pair_features(encoder, ds.train_pairs)
    va_c, va_r = pair_features(encoder, ds.val_pairs) if ds.val_pairs else (tr_c[:0], tr_r[:0])
    t_feat = time.perf_counter() - t0
    log(f"features: {encoder.n_encoded} texts encoded, rest from cache, {t_feat:.1f}s")
    margins = torch.tensor([p.margin for p in ds.train_pairs], dtype=torch.float32)
    curves: dict[str, list[list[float]]] = {}
    t1 = time.perf_counter()
    head = _fit_head(cfg, tr_c, tr_r, margins, on_step=on_step, curves=curves, val=(va_c, va_r))
    t_fit = time.perf_counter() - t1

    train_acc, _ = _accuracy(head, tr_c, tr_r)
    val_acc, diff = _accuracy(head, va_c, va_r)
    metrics: dict[str, Any] = {
        "train_accuracy": train_acc,
        "val_accuracy": val_acc,
        "n_train_pairs": len(ds.train_pairs),
        "n_val_pairs": len(ds.val_pairs),
        "feature_seconds": round(t_feat, 3),
        "fit_seconds": round(t_fit, 3),
        "texts_encoded": encoder.n_encoded,
    }
    if diff.numel():
        # The first of each validation pair is the chosen one, so the outcome is always 1;
        # ECE on P(chosen) works the same: confidence vs how often the model was right.
        probs = torch.sigmoid(diff)
        metrics["val_loss"] = float(-torch.nn.functional.logsigmoid(diff).mean().item())
        metrics["val_ece"] = expected_calibration_error(probs, torch.ones_like(probs))
        metrics["val_accuracy_by_group"] = _by_key(ds.val_pairs, diff, lambda p: p.group)
        metrics["val_accuracy_by_source"] = _by_key(ds.val_pairs, diff, lambda p: p.source)

    group_heads: dict[str, RewardHead] = {}
    if cfg.per_group_heads:
        metrics["per_group_heads"] = {}
        for g in sorted({p.group for p in ds.train_pairs}):
            idx = [i for i, p in enumerate(ds.train_pairs) if p.group == g]
            if len(idx) < cfg.min_group_pairs:
                continue
            gh = _fit_head(cfg, tr_c[idx], tr_r[idx], margins[idx])
            group_heads[g] = gh
            vidx = [i for i, p in enumerate(ds.val_pairs) if p.group == g]
            if vidx:
                metrics["per_group_heads"][g] = {
                    "n_val": len(vidx),
                    "group_head_accuracy": _accuracy(gh, va_c[vidx], va_r[vidx])[0],
                    "pooled_accuracy": _accuracy(head, va_c[vidx], va_r[vidx])[0],
                }
    log(f"reward fit: val accuracy {val_acc:.3f}, {t_fit:.1f}s")
    return RewardResult(head, group_heads, metrics, curves, cfg, tr_c.shape[1])


def _by_key(
    pairs: Sequence[PreferencePair], diff: torch.Tensor, key: Callable[[PreferencePair], str]
) -> dict[str, dict[str, float]]:
    out: dict[str, list[float]] = {}
    for p, d in zip(pairs, diff.tolist(), strict=True):
        out.setdefault(key(p), []).append(1.0 if d > 0 else 0.0)
    return {k: {"n": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(out.items())}


# --- artifacts -------------------------------------------------------------------------


def save_reward_model(result: RewardResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "head": result.head.state_dict(),
            "group_heads": {g: h.state_dict() for g, h in result.group_heads.items()},
        },
        folder / "reward_head.pt",
    )
    meta = {"config": asdict(result.config), "feature_dim": result.feature_dim}
    (folder / "reward_model.json").write_text(json.dumps(meta, indent=2))


class RewardScorer:
    """A saved reward model, ready to score (prompt, response) texts."""

    def __init__(self, folder: Path, *, cache_dir: Path | None = None):
        meta = json.loads((folder / "reward_model.json").read_text())
        self.config = RewardConfig.from_dict(meta["config"])
        state = torch.load(folder / "reward_head.pt", weights_only=True)
        self.head = RewardHead(meta["feature_dim"], self.config.hidden)
        self.head.load_state_dict(state["head"])
        self.head.eval()
        self.encoder = TextEncoder(
            self.config.encoder, max_length=self.config.max_length, cache_dir=cache_dir
        )

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if not prompts:
            return np.zeros(0, dtype=np.float32)
        feats = torch.from_numpy(self.encoder.encode(prompts, responses))
        with torch.no_grad():
            return self.head(feats).numpy()
