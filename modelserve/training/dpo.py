"""DPO refit of a causal LM, nanoGPT style: one file, top to bottom, no Trainer.

The lean parts, each worth a constant factor over a generic trainer:
- the policy starts as the reference (the previous policy), so the reference log-probs
  are computed once, before the first update, with the same weights, and no reference
  forward runs per step;
- chosen and rejected go through one forward, concatenated along the batch;
- the LM head (576 x 49,152 for SmolLM2) runs only at completion positions;
- batches are length-bucketed: pairs sorted by length, cut into batches, batch order
  shuffled, so little compute goes to padding.

What is in memory: one model (the policy, trained in place; with ``lora_rank`` > 0 its
frozen weights plus the adapters, merged back at the end), the optimizer state of the
trainable parameters, one batch's activations, and, computed once before the first
update and kept on CPU, the reference's summed log-probs per completion (one float per
training, validation and ranked-list completion) and the reference's evaluation samples
with their log-probabilities over the vocabulary at each sampled position (at most
``eval_prompts * eval_max_new_tokens`` x vocabulary floats: 8 x 48 x 49,152 x 4 bytes,
about 75 MB, for SmolLM2 at the defaults; none when ``eval_prompts`` is 0). No second
copy of the model is ever made: the held-out KL is measured along the reference's
samples (modelserve.training.dpo_eval).
No Django here; the service passes data, a model folder and callbacks.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from .data import Dataset
from .dpo_batch import (
    DPOConfig,
    Example,
    ScoreFn,
    StepCallback,
    all_logps,
    bucketed_batches,
    collate,
    completion_logps,
    encode_prompt,
    encode_response,
    make_examples,
)
from .dpo_eval import eval_prompts_of, evaluate, reference_samples, sample_metrics
from .lora import add_lora, merge_lora
from .losses import dpo_loss, ipo_loss, listwise_dpo_loss
from .metrics import pairwise_accuracy

__all__ = [
    "DPOConfig",
    "DPOResult",
    "Example",
    "ScoreFn",
    "all_logps",
    "encode_prompt",
    "encode_response",
    "make_examples",
    "train_dpo",
]


# --- training ------------------------------------------------------------------------


@dataclass
class DPOResult:
    model: Any
    metrics: dict[str, Any]
    curves: dict[str, list[list[float]]]


def train_dpo(
    model: Any,
    tokenizer: Any,
    ds: Dataset,
    cfg: DPOConfig,
    *,
    on_step: StepCallback | None = None,
    log: Callable[[str], None] = lambda s: None,
    score_fn: ScoreFn | None = None,
) -> DPOResult:
    """Train ``model`` (the current policy, also the reference) in place on ``ds``."""
    if not ds.train_pairs and not (cfg.listwise_weight and ds.train_lists):
        raise ValueError("No training pairs: nothing to fit.")
    if cfg.device == "auto":
        cfg = replace(cfg, device="cuda" if torch.cuda.is_available() else "cpu")
    if cfg.device.startswith("cuda"):
        # cuDNN attention re-plans for every new sequence length (~3 ms per layer call):
        # with length-bucketed, variable-length batches the other kernels are faster.
        torch.backends.cuda.enable_cudnn_sdp(False)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.to(cfg.device)
    train = make_examples(tokenizer, ds.train_pairs, cfg)
    val = make_examples(tokenizer, ds.val_pairs, cfg)
    lists = make_examples(tokenizer, ds.train_lists, cfg) if cfg.listwise_weight > 0 else []
    # Everything the run compares against is taken now, from the untouched weights
    # (policy == reference): the evaluation samples and the reference log-probs.
    model.eval()
    eval_prompts = eval_prompts_of(ds, cfg.eval_prompts)
    reference = reference_samples(model, tokenizer, eval_prompts, cfg) if eval_prompts else None
    t0 = time.perf_counter()
    ref_train = all_logps(model, train, cfg.batch_size, pad_id, cfg.device)
    ref_val = all_logps(model, val, cfg.batch_size, pad_id, cfg.device)
    ref_lists = all_logps(model, lists, cfg.batch_size, pad_id, cfg.device)
    log(f"reference log-probs for {len(train) + len(val)} pairs in {time.perf_counter() - t0:.1f}s")

    if cfg.lora_rank > 0:
        n_train = add_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha)
        log(f"LoRA rank {cfg.lora_rank}: {n_train} trainable parameters")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size) + math.ceil(
        len(lists) / cfg.batch_size
    )
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    curves: dict[str, list[list[float]]] = {}
    step, tokens, pairs_seen = 0, 0, 0
    model.train()
    t_train = time.perf_counter()
    for _epoch in range(cfg.epochs):
        work = [("pair", b) for b in bucketed_batches(train, cfg.batch_size, rng)]
        work += [("list", b) for b in bucketed_batches(lists, cfg.batch_size, rng)]
        rng.shuffle(work)
        for kind, idx in work:
            if step >= total:
                break
            src, refs = (train, ref_train) if kind == "pair" else (lists, ref_lists)
            exs = [src[i] for i in idx]
            batch = {k: v.to(cfg.device) for k, v in collate(exs, pad_id).items()}
            sums, counts = completion_logps(model, batch)
            ref = torch.cat([refs[i] for i in idx]).to(sums.device)
            if kind == "pair":
                loss, cr, rr = _pair_loss(cfg, sums, counts, ref, exs)
                stats = {
                    "train_loss": loss.item(),
                    "reward_accuracy": pairwise_accuracy(cr - rr),
                    "reward_margin": (cr - rr).mean().item(),
                }
                pairs_seen += len(exs)
            else:
                loss = cfg.listwise_weight * _list_loss(cfg, sums, ref, exs)
                stats = {"listwise_loss": loss.item()}
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            step += 1
            tokens += int(batch["attention_mask"].sum().item())
            for k, v in stats.items():
                curves.setdefault(k, []).append([step, v])
            if on_step is not None:
                on_step(step, total, stats)
    train_seconds = time.perf_counter() - t_train
    if cfg.lora_rank > 0:
        merge_lora(model)
    model.eval()

    metrics: dict[str, Any] = {
        "steps": step,
        "train_seconds": round(train_seconds, 3),
        "tokens_per_second": tokens / train_seconds if train_seconds else 0.0,
        "pairs_per_second": pairs_seen / train_seconds if train_seconds else 0.0,
        "n_train_pairs": len(train),
        "n_val_pairs": len(val),
    }
    if "train_loss" in curves:
        tail = curves["train_loss"][-max(1, steps_per_epoch) :]
        metrics["train_loss"] = sum(v for _, v in tail) / len(tail)
    metrics.update(evaluate(model, val, ref_val, cfg, pad_id))
    if reference is not None:
        metrics.update(sample_metrics(model, tokenizer, reference, cfg, score_fn))
    return DPOResult(model, metrics, curves)


def _pair_loss(
    cfg: DPOConfig, sums: Tensor, counts: Tensor, ref: Tensor, exs: Sequence[Example]
) -> tuple[Tensor, Tensor, Tensor]:
    pc, pr, rc, rr = sums[0::2], sums[1::2], ref[0::2], ref[1::2]
    if cfg.loss == "ipo":
        # IPO works on per-token means (it has no length normalisation of its own).
        nc, nr = counts[0::2].clamp(min=1), counts[1::2].clamp(min=1)
        return ipo_loss(pc / nc, pr / nr, rc / nc, rr / nr, beta=cfg.beta)
    margin = None
    if cfg.margin_weight:
        margin = cfg.margin_weight * torch.tensor([e.margin for e in exs], device=sums.device)
    return dpo_loss(
        pc, pr, rc, rr, beta=cfg.beta, margin=margin, label_smoothing=cfg.label_smoothing
    )


def _list_loss(cfg: DPOConfig, sums: Tensor, ref: Tensor, exs: Sequence[Example]) -> Tensor:
    k = max(len(e.completions) for e in exs)
    scores = torch.zeros(len(exs), k, device=sums.device, dtype=sums.dtype)
    refs = torch.zeros_like(scores)
    groups = torch.zeros(len(exs), k, dtype=torch.long, device=sums.device)
    mask = torch.zeros(len(exs), k, dtype=torch.bool, device=sums.device)
    offset = 0
    for i, e in enumerate(exs):
        n = len(e.completions)
        scores[i, :n] = sums[offset : offset + n]
        refs[i, :n] = ref[offset : offset + n]
        groups[i, :n] = torch.tensor(e.groups, device=sums.device)
        mask[i, :n] = True
        offset += n
    return listwise_dpo_loss(scores, refs, groups, mask, beta=cfg.beta)
