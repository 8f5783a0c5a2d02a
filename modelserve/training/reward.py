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
from .losses import bradley_terry_loss
from .metrics import calibration_error, margin_correct, pairwise_accuracy

StepCallback = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class RewardConfig:
    encoder: str = MINILM  # "minilm" or a local Hugging Face folder
    max_length: int = 128  # tokens of prompt+response the encoder sees
    hidden: int = 0  # 0: linear head; >0: one hidden layer of this width
    epochs: int = 60
    batch_size: int = 2048
    lr: float = 3e-3
    weight_decay: float = 1e-3
    margin_weight: float = 0.5  # annotator strength as margin, in logit units
    seed: int = 0
    per_group_heads: bool = False
    min_group_pairs: int = 50  # smaller groups get no head of their own
    encode_batch_size: int = 64
    length_feature: bool = True  # append log(response length) to the embedding
    # Full fine-tune of the encoder (then a head refit on its features): "off", "gpu" (only
    # when CUDA is available; head-only otherwise) or "always" (also on CPU: slow).
    finetune: str = "off"
    finetune_lr: float = 2e-5
    finetune_epochs: int = 1
    finetune_batch_size: int = 16

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


def text_features(
    encoder: TextEncoder, prompts: Sequence[str], responses: Sequence[str], length: bool
) -> torch.Tensor:
    feats = torch.from_numpy(encoder.encode(prompts, responses))
    if length:
        # Log length of the response, about 0..1: on HH-RLHF it adds ~4 points of
        # validation accuracy over the embedding alone (lengths differ systematically).
        n = torch.tensor([[math.log1p(len(r)) / 8.0] for r in responses], dtype=feats.dtype)
        feats = torch.cat([feats, n], dim=1)
    return feats


def pair_features(
    encoder: TextEncoder, pairs: Sequence[PreferencePair], length: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    prompts = [prompt_text(p.prompt) for p in pairs]
    both = text_features(
        encoder,
        prompts + prompts,
        [p.chosen for p in pairs] + [p.rejected for p in pairs],
        length,
    )
    n = len(pairs)
    return both[:n], both[n:]


def _fit_head(
    cfg: RewardConfig,
    fc: torch.Tensor,
    fr: torch.Tensor,
    margins: torch.Tensor,
    **kw: Any,
) -> RewardHead:
    """Fit on one thread: the head's matmuls are microseconds, and on a busy two-core
    machine a second intra-op thread spin-waiting made the same fit 2-6x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit_head_loop(cfg, fc, fr, margins, **kw)
    finally:
        torch.set_num_threads(threads)


def _fit_head_loop(
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
            loss = bradley_terry_loss(
                head(fc[idx]), head(fr[idx]), cfg.margin_weight * margins[idx]
            )
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
                    acc = float(margin_correct(head(val[0]) - head(val[1])).mean())
                curves.setdefault("val_accuracy", []).append([epoch + 1, acc])
    return head


def _accuracy(
    head: RewardHead, fc: torch.Tensor, fr: torch.Tensor
) -> tuple[float | None, torch.Tensor]:
    with torch.no_grad():
        diff = head(fc) - head(fr)
    if diff.numel() == 0:
        # Undefined, not a number: no validation pairs (one prompt, or val_fraction 0).
        # None is what JSON fields can store; the gates read it as "no validation accuracy".
        return None, diff
    return pairwise_accuracy(diff), diff


@dataclass
class RewardResult:
    head: RewardHead
    group_heads: dict[str, RewardHead]
    metrics: dict[str, Any]
    curves: dict[str, list[list[float]]]
    config: RewardConfig
    feature_dim: int
    finetuned: TextEncoder | None = None


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
    finetuned = None
    if cfg.finetune == "always" or (cfg.finetune == "gpu" and torch.cuda.is_available()):
        device = "cuda" if torch.cuda.is_available() else "cpu"
        encoder = finetune_encoder(ds, cfg, device=device, on_step=on_step, log=log)
        finetuned = encoder
    else:
        encoder = TextEncoder(
            cfg.encoder,
            max_length=cfg.max_length,
            batch_size=cfg.encode_batch_size,
            cache_dir=cache_dir,
        )
    tr_c, tr_r = pair_features(encoder, ds.train_pairs, cfg.length_feature)
    va_c, va_r = (
        pair_features(encoder, ds.val_pairs, cfg.length_feature)
        if ds.val_pairs
        else (tr_c[:0], tr_r[:0])
    )
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
        # The first of each validation pair is the chosen one. ECE grades each pair as the
        # accuracy does (metrics.margin_correct: a zero margin is half right).
        metrics["val_loss"] = float(-torch.nn.functional.logsigmoid(diff).mean().item())
        metrics["val_ece"] = calibration_error(diff)
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
    shown = "n/a (no validation pairs)" if val_acc is None else f"{val_acc:.3f}"
    log(f"reward fit: val accuracy {shown}, {t_fit:.1f}s")
    return RewardResult(head, group_heads, metrics, curves, cfg, tr_c.shape[1], finetuned)


def finetune_encoder(
    ds: Dataset,
    cfg: RewardConfig,
    *,
    device: str,
    on_step: StepCallback | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> TextEncoder:
    """End-to-end Bradley-Terry fine-tune of the encoder with a temporary linear head.
    Returns the encoder (uncached: its features change with every fine-tune)."""
    torch.manual_seed(cfg.seed)
    enc = TextEncoder(cfg.encoder, max_length=cfg.max_length, device=device)
    enc.pool([""], [""])  # loads the model
    enc._model.train()
    probe = RewardHead(enc.dim + int(cfg.length_feature), 0).to(device)
    params = list(enc._model.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.finetune_lr, weight_decay=0.01)
    pairs = ds.train_pairs
    gen = torch.Generator().manual_seed(cfg.seed)
    bs = cfg.finetune_batch_size
    total = cfg.finetune_epochs * math.ceil(len(pairs) / bs)
    step = 0

    def feats(prompts: list[str], texts: list[str]) -> torch.Tensor:
        f = enc.pool(prompts, texts)
        if cfg.length_feature:
            n = [[math.log1p(len(t)) / 8.0] for t in texts]
            f = torch.cat([f, torch.tensor(n, dtype=f.dtype, device=f.device)], dim=1)
        return f

    for _ in range(cfg.finetune_epochs):
        for idx in torch.randperm(len(pairs), generator=gen).split(bs):
            batch = [pairs[i] for i in idx.tolist()]
            prompts = [prompt_text(p.prompt) for p in batch]
            margin = torch.tensor([p.margin for p in batch], device=device)
            loss = bradley_terry_loss(
                probe(feats(prompts, [p.chosen for p in batch])),
                probe(feats(prompts, [p.rejected for p in batch])),
                cfg.margin_weight * margin,
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            if on_step is not None:
                on_step(step, total, {"finetune_loss": loss.item()})
    enc._model.eval()
    log(f"encoder fine-tuned on {device}: {step} steps")
    return enc


def _by_key(
    pairs: Sequence[PreferencePair], diff: torch.Tensor, key: Callable[[PreferencePair], str]
) -> dict[str, dict[str, float]]:
    out: dict[str, list[float]] = {}
    for p, c in zip(pairs, margin_correct(diff).tolist(), strict=True):
        out.setdefault(key(p), []).append(c)
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
    config = asdict(result.config)
    if result.finetuned is not None:
        # The scorer loads the fine-tuned encoder from the artifact itself.
        enc = result.finetuned
        enc._model.save_pretrained(folder / "encoder")
        enc._tokenizer.save_pretrained(folder / "encoder")
        config.update(encoder="./encoder", finetune="off")
    meta = {"config": config, "feature_dim": result.feature_dim}
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
        name = self.config.encoder
        if name.startswith("./"):
            name = str(folder / name[2:])
        self.encoder = TextEncoder(name, max_length=self.config.max_length, cache_dir=cache_dir)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if not prompts:
            return np.zeros(0, dtype=np.float32)
        feats = text_features(self.encoder, prompts, responses, self.config.length_feature)
        with torch.no_grad():
            return self.head(feats).numpy()
