"""DPO refit of a causal LM, nanoGPT style: one file, top to bottom, no Trainer.

The lean parts, each worth a constant factor over a generic trainer:
- the policy starts as the reference (the previous policy), so the reference log-probs
  are computed once, before the first update, with the same weights, and no reference
  forward runs per step;
- a pair is one row, its prompt once and then chosen and rejected, each of which sees
  only the prompt and itself (``dpo_batch.Batch``): the prompt, often most of a pair's
  tokens, is not computed twice;
- the LM head (576 x 49,152 for SmolLM2) runs only at completion positions;
- batches are length-bucketed: pairs sorted by length, cut into batches, batch order
  shuffled, so little compute goes to padding;
- on a GPU: bf16 weights with fp32 masters for AdamW (``precision``), a fused AdamW, and
  no step waits for the device: where completions sit is known on the host, batches are
  copied from pinned memory, and the losses are read back every 16 steps in one transfer.

What is in memory: one model (the policy, trained in place; with ``lora_rank`` > 0 its
frozen weights plus the adapters, merged back at the end; in bf16 on a GPU, with an fp32
master of each weight beside it), the optimizer state of the trainable parameters, one
batch's activations, and, computed once before the first update, the reference's summed
log-probs per completion (one float per training, validation and ranked-list
completion, on the training device) and the reference's evaluation samples
with their log-probabilities over the vocabulary at each sampled position (at most
``eval_prompts * eval_max_new_tokens`` x vocabulary floats: 8 x 48 x 49,152 x 4 bytes,
about 75 MB, for SmolLM2 at the defaults, on CPU; none when ``eval_prompts`` is 0). No second
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
    first_completion_ids,
    make_examples,
)
from .dpo_eval import eval_prompts_of, evaluate, reference_samples, sample_metrics
from .lora import add_lora, merge_lora
from .losses import dpo_loss, ipo_loss, listwise_dpo_loss
from .metrics import pairwise_accuracy_on_device
from .precision import MasterWeights, resolve

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
    on_gpu = torch.device(cfg.device).type == "cuda"
    # Everything the run compares against is taken now, from the untouched weights
    # (policy == reference): the evaluation samples (in fp32, as they are scored after
    # training) and the reference log-probs (in the training precision, as the policy's
    # are).
    model.eval()
    eval_prompts = eval_prompts_of(ds, cfg.eval_prompts)
    reference = reference_samples(model, tokenizer, eval_prompts, cfg) if eval_prompts else None
    masters = MasterWeights(model) if resolve(cfg.precision, cfg.device) == "bf16" else None
    t0 = time.perf_counter()
    # No gradients, so a GPU takes bigger batches; a CPU gains nothing from them.
    ref_batch = cfg.batch_size * (4 if on_gpu else 1)
    ref_train = all_logps(model, train, ref_batch, pad_id, cfg.device)
    ref_val = all_logps(model, val, ref_batch, pad_id, cfg.device)
    ref_lists = all_logps(model, lists, ref_batch, pad_id, cfg.device)
    log(f"reference log-probs for {len(train) + len(val)} pairs in {time.perf_counter() - t0:.1f}s")

    if cfg.lora_rank > 0:
        n_train = add_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha)
        log(f"LoRA rank {cfg.lora_rank}: {n_train} trainable parameters")
    params = [p for p in model.parameters() if p.requires_grad]
    if masters is not None:
        params = masters.train(params)  # the optimizer updates the fp32 masters
    # Fused AdamW: one kernel for all parameters instead of several per tensor.
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=on_gpu)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size) + math.ceil(
        len(lists) / cfg.batch_size
    )
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    stats = _Stats(on_step, total, every=16 if on_gpu else 1)
    step, tokens, pairs_seen = 0, 0, 0
    firsts = {
        "pair": first_completion_ids(train),
        "list": first_completion_ids(lists),
    }
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
            batch = collate(exs, pad_id, [firsts[kind][i] for i in idx]).to(cfg.device)
            sums, counts = completion_logps(model, batch)
            ref = refs.index_select(0, batch.completion_ids)
            if kind == "pair":
                loss, cr, rr = _pair_loss(cfg, sums.float(), counts, ref, batch.margins)
                step_stats = {
                    "train_loss": loss.detach(),
                    "reward_accuracy": pairwise_accuracy_on_device(cr - rr),
                    "reward_margin": (cr - rr).mean(),
                }
                pairs_seen += len(exs)
            else:
                loss = cfg.listwise_weight * _list_loss(cfg, sums.float(), ref, exs)
                step_stats = {"listwise_loss": loss.detach()}
            if masters is not None:
                masters.zero_grad()
            else:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            if masters is not None:
                masters.grads_to_master()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
            opt.step()
            if masters is not None:
                masters.master_to_model()
            step += 1
            tokens += batch.n_tokens
            stats.add(step, step_stats)
    stats.flush()
    if on_gpu:
        torch.cuda.synchronize()  # the clock below must include the queued steps
    train_seconds = time.perf_counter() - t_train
    model.eval()
    curves = stats.curves

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
    # Validation in the training precision, as its reference log-probs were taken.
    metrics.update(evaluate(model, val, ref_val, cfg, pad_id))
    del opt  # its state, two fp32 copies of the trained weights, is not needed any more
    if masters is not None:
        masters.restore()  # fp32 weights again: the masters where trained
    if cfg.lora_rank > 0:
        merge_lora(model)
    if reference is not None:
        metrics.update(sample_metrics(model, tokenizer, reference, cfg, score_fn))
    return DPOResult(model, metrics, curves)


class _Stats:
    """Per-step statistics, read from the device every ``every`` steps in one transfer:
    reading a loss after each step would make the host wait for the GPU there, with
    nothing queued behind it. ``on_step`` then hears of each step in order."""

    def __init__(self, on_step: StepCallback | None, total: int, every: int):
        self.on_step, self.total, self.every = on_step, total, every
        self.pending: list[tuple[int, dict[str, Tensor]]] = []
        self.curves: dict[str, list[list[float]]] = {}

    def add(self, step: int, stats: dict[str, Tensor]) -> None:
        self.pending.append((step, stats))
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        values = torch.stack([v.float() for _, s in self.pending for v in s.values()]).tolist()
        it = iter(values)
        for step, stats in self.pending:
            read = {k: next(it) for k in stats}
            for k, v in read.items():
                self.curves.setdefault(k, []).append([step, v])
            if self.on_step is not None:
                self.on_step(step, self.total, read)
        self.pending = []


def _pair_loss(
    cfg: DPOConfig, sums: Tensor, counts: Tensor, ref: Tensor, margins: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    pc, pr, rc, rr = sums[0::2], sums[1::2], ref[0::2], ref[1::2]
    if cfg.loss == "ipo":
        # IPO works on per-token means (it has no length normalisation of its own).
        nc, nr = counts[0::2].clamp(min=1), counts[1::2].clamp(min=1)
        return ipo_loss(pc / nc, pr / nr, rc / nc, rr / nr, beta=cfg.beta)
    margin = cfg.margin_weight * margins if cfg.margin_weight else None
    return dpo_loss(
        pc, pr, rc, rr, beta=cfg.beta, margin=margin, label_smoothing=cfg.label_smoothing
    )


def _list_loss(cfg: DPOConfig, sums: Tensor, ref: Tensor, exs: Sequence[Example]) -> Tensor:
    """Plackett-Luce DPO over the batch's lists, padded to the longest list. The layout
    (which completion goes in which slot, rank groups, the mask) is built on the host."""
    k = max(len(e.completions) for e in exs)
    slots = [i * k + j for i, e in enumerate(exs) for j in range(len(e.completions))]
    groups = torch.zeros(len(exs), k, dtype=torch.long)
    mask = torch.zeros(len(exs), k, dtype=torch.bool)
    for i, e in enumerate(exs):
        groups[i, : len(e.groups)] = torch.tensor(e.groups)
        mask[i, : len(e.groups)] = True
    dev = sums.device
    where = torch.tensor(slots).to(dev)
    scores = sums.new_zeros(len(exs) * k).index_copy(0, where, sums).view(len(exs), k)
    refs = ref.new_zeros(len(exs) * k).index_copy(0, where, ref).view(len(exs), k)
    return listwise_dpo_loss(scores, refs, groups.to(dev), mask.to(dev), beta=cfg.beta)
