"""Held-out evaluation of a DPO run: implicit-reward and likelihood ranking accuracy on
validation pairs, and on sampled answers to held-out prompts the KL to the reference, the
mean length and the reward model's score of new against old samples. No Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .data import Dataset, Message
from .dpo import DPOConfig, Example, ScoreFn, all_logps, collate, encode_prompt
from .losses import dpo_loss
from .metrics import pairwise_accuracy

# --- evaluation ----------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: Any, val: Sequence[Example], ref_val: Sequence[Tensor], cfg: DPOConfig, pad_id: int
) -> dict[str, float]:
    if not val:
        return {}
    logps = all_logps(model, val, cfg.batch_size, pad_id, cfg.device)
    pol = torch.stack([x[:2] for x in logps])
    ref = torch.stack([x[:2] for x in ref_val])
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


@torch.no_grad()
def _completion_logprobs(model: Any, batch: dict[str, Tensor]) -> Tensor:
    body = getattr(model, model.base_model_prefix)
    hidden = body(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    where = batch["labels"][:, 1:] != -100
    logits = model.get_output_embeddings()(hidden[:, :-1][where])
    return torch.log_softmax(logits.float(), dim=-1)


def eval_prompts_of(ds: Dataset, n: int) -> list[tuple[Message, ...]]:
    seen: dict[str, tuple[Message, ...]] = {}
    for p in ds.val_pairs:
        seen.setdefault(p.prompt_key, p.prompt)
    return list(seen.values())[:n]


@torch.no_grad()
def sample(
    model: Any, tokenizer: Any, prompts: Sequence[Sequence[Message]], cfg: DPOConfig
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, sampled completion ids) per prompt, at temperature 1 (KL needs samples
    of the policy itself), seeded so old and new policies are compared on equal terms."""
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


def sample_metrics(
    model: Any,
    reference: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[Message]],
    old: Sequence[tuple[list[int], list[int]]],
    cfg: DPOConfig,
    score_fn: ScoreFn | None,
) -> dict[str, float]:
    new = sample(model, tokenizer, prompts, cfg)
    exs = [Example(p, [c], [0]) for p, c in new if c]
    pad_id = tokenizer.pad_token_id or 0
    kl = 0.0
    if exs:
        # KL(policy || reference) per sequence along the policy's own samples: the exact
        # per-token KL over the vocabulary, summed over the sampled positions (always >= 0,
        # far less noisy than log p - log q of the sampled tokens).
        batch = {k: v.to(cfg.device) for k, v in collate(exs, pad_id).items()}
        lp, lq = _completion_logprobs(model, batch), _completion_logprobs(reference, batch)
        kl = float((lp.exp() * (lp - lq)).sum().item()) / len(exs)
    out = {
        "kl_to_reference": kl,
        "mean_response_tokens": sum(len(c) for _, c in new) / max(len(new), 1),
        "mean_response_tokens_reference": sum(len(c) for _, c in old) / max(len(old), 1),
    }
    if score_fn is not None and new:
        texts = [str(m[-1]["content"]) if m else "" for m in prompts]
        dec = [tokenizer.decode(c, skip_special_tokens=True) for _, c in new]
        dec_old = [tokenizer.decode(c, skip_special_tokens=True) for _, c in old]
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
