"""Held-out evaluation of a DPO run: implicit-reward and likelihood ranking accuracy on
validation pairs, and on sampled answers to held-out prompts the KL to the reference, the
mean length and the reward model's score of new against old samples. No Django.

The reference is the policy before training, and no copy of it is kept: before the first
update, ``reference_samples`` draws the reference's answers to the held-out prompts and
keeps, at each sampled completion position, its log-probabilities over the vocabulary
(on CPU). After training, ``sample_metrics`` scores the same sequences with the trained
policy. So the KL reported is KL(reference || policy) along the reference's own samples:
exact per token (a sum over the vocabulary), summed over each sample's positions, averaged
over samples; it is always >= 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .data import Dataset, Message
from .dpo_batch import (
    DPOConfig,
    Example,
    ScoreFn,
    all_logps,
    collate,
    completion_logits,
    encode_prompt,
)
from .losses import dpo_loss
from .metrics import pairwise_accuracy

Sample = tuple[list[int], list[int]]  # (prompt ids, sampled completion ids)


@torch.no_grad()
def evaluate(
    model: Any, val: Sequence[Example], ref_val: Tensor, cfg: DPOConfig, pad_id: int
) -> dict[str, float]:
    """``val`` are pairs; ``ref_val`` their reference log-probs from ``all_logps``."""
    if not val:
        return {}
    pol = all_logps(model, val, cfg.batch_size, pad_id, cfg.device).view(-1, 2)
    ref = ref_val.view(-1, 2)
    loss, cr, rr = dpo_loss(pol[:, 0], pol[:, 1], ref[:, 0], ref[:, 1], beta=cfg.beta)
    return {
        "val_loss": loss.item(),
        "val_reward_accuracy": pairwise_accuracy(cr - rr),
        "val_reward_margin": (cr - rr).mean().item(),
        "val_chosen_reward": cr.mean().item(),
        "val_rejected_reward": rr.mean().item(),
        # The policy's own likelihood ranks chosen above rejected (no reference involved).
        "val_ranking_accuracy": pairwise_accuracy(pol[:, 0] - pol[:, 1]),
        "val_ranking_accuracy_reference": pairwise_accuracy(ref[:, 0] - ref[:, 1]),
    }


def eval_prompts_of(ds: Dataset, n: int) -> list[tuple[Message, ...]]:
    seen: dict[str, tuple[Message, ...]] = {}
    for p in ds.val_pairs:
        seen.setdefault(p.prompt_key, p.prompt)
    return list(seen.values())[:n]


@torch.no_grad()
def sample(
    model: Any, tokenizer: Any, prompts: Sequence[Sequence[Message]], cfg: DPOConfig
) -> list[Sample]:
    """(prompt ids, sampled completion ids) per prompt, at temperature 1 (KL needs samples
    of the model itself), seeded so old and new policies are compared on equal terms."""
    out = []
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    for prompt in prompts:
        ids = encode_prompt(tokenizer, prompt, cfg.max_prompt_tokens)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen).item()))
        x = torch.tensor([ids], device=cfg.device)
        y = model.generate(
            input_ids=x,
            attention_mask=torch.ones_like(x),
            do_sample=True,
            temperature=1.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=cfg.eval_max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        out.append((ids, y[0, len(ids) :].tolist()))
    return out


@torch.no_grad()
def _completion_logprobs(model: Any, samples: Sequence[Sample], pad_id: int, device: str) -> Tensor:
    """Log-probabilities over the vocabulary at every completion position of ``samples``
    (rows in order, positions in order; empty completions have none)."""
    exs = [Example(p, [c], [0]) for p, c in samples if c]
    logits = completion_logits(model, collate(exs, pad_id).to(device))
    return torch.log_softmax(logits.float(), dim=-1)


@dataclass
class ReferenceSamples:
    """All the evaluation keeps of the reference: its samples and, at each sampled
    position, its log-probabilities over the vocabulary, on CPU (positions x vocab x 4
    bytes: at most ``eval_prompts * eval_max_new_tokens`` rows)."""

    prompts: list[tuple[Message, ...]]
    samples: list[Sample]
    logprobs: Tensor | None  # None when no sample has a completion token


def reference_samples(
    model: Any, tokenizer: Any, prompts: Sequence[Sequence[Message]], cfg: DPOConfig
) -> ReferenceSamples:
    """Call before the first update, while ``model`` is still the reference."""
    pad_id = getattr(tokenizer, "pad_token_id", None) or 0
    samples = sample(model, tokenizer, prompts, cfg)
    logprobs = None
    if any(c for _, c in samples):
        logprobs = _completion_logprobs(model, samples, pad_id, cfg.device).cpu()
    return ReferenceSamples([tuple(p) for p in prompts], samples, logprobs)


def sample_metrics(
    model: Any,
    tokenizer: Any,
    ref: ReferenceSamples,
    cfg: DPOConfig,
    score_fn: ScoreFn | None,
) -> dict[str, float]:
    """Compare the trained ``model`` with the reference captured in ``ref``."""
    new = sample(model, tokenizer, ref.prompts, cfg)
    old = ref.samples
    pad_id = getattr(tokenizer, "pad_token_id", None) or 0
    kl = 0.0
    if ref.logprobs is not None:
        lq = ref.logprobs.to(cfg.device)
        lp = _completion_logprobs(model, old, pad_id, cfg.device)
        kl = float((lq.exp() * (lq - lp)).sum().item()) / sum(1 for _, c in old if c)
    out = {
        "kl_to_reference": kl,
        "mean_response_tokens": sum(len(c) for _, c in new) / max(len(new), 1),
        "mean_response_tokens_reference": sum(len(c) for _, c in old) / max(len(old), 1),
    }
    if score_fn is not None and new:
        decode = tokenizer.decode
        texts = [str(m[-1]["content"]) if m else "" for m in ref.prompts]
        dec = [decode(c, skip_special_tokens=True) for _, c in new]
        dec_old = [decode(c, skip_special_tokens=True) for _, c in old]
        # RewardScorer.score returns a float32 array: Python floats here, so the metrics
        # are plain numbers wherever they go (the refit stores them in JSON fields).
        s_new = [float(s) for s in score_fn(texts, dec)]
        s_old = [float(s) for s in score_fn(texts, dec_old)]
        out["rm_score_new"] = sum(s_new) / len(s_new)
        out["rm_score_reference"] = sum(s_old) / len(s_old)
        out["rm_win_rate_vs_reference"] = sum(
            a > b for a, b in zip(s_new, s_old, strict=True)
        ) / len(s_new)
    return out
