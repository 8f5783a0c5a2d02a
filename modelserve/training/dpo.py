"""DPO refit of a causal LM, nanoGPT style: one file, top to bottom, no Trainer.

The lean parts, each worth a constant factor over a generic trainer:
- the policy starts as the reference (the previous policy), so the reference log-probs
  are computed once, before the first update, with the same weights: no second model in
  memory during training and no reference forward per step;
- chosen and rejected go through one forward, concatenated along the batch;
- the LM head (576 x 49,152 for SmolLM2) runs only at completion positions;
- batches are length-bucketed: pairs sorted by length, cut into batches, batch order
  shuffled, so little compute goes to padding.
No Django here; the service passes data, a model folder and callbacks.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from .data import Dataset, Message, PreferencePair, RankedList
from .lora import add_lora, merge_lora
from .losses import dpo_loss, ipo_loss, listwise_dpo_loss, sequence_logps
from .metrics import pairwise_accuracy

StepCallback = Callable[[int, int, dict[str, float]], None]
# (prompts, responses) -> one score each (a list or a numpy array).
ScoreFn = Callable[[list[str], list[str]], Any]


@dataclass(frozen=True)
class DPOConfig:
    loss: str = "dpo"  # "dpo" or "ipo"
    beta: float = 0.1
    lr: float = 5e-6
    epochs: int = 1
    max_steps: int = 0  # 0: no cap
    batch_size: int = 8  # pairs per step
    max_prompt_tokens: int = 128  # prompt keeps its end (the last user turn)
    max_response_tokens: int = 128
    margin_weight: float = 0.0  # annotator strength as an ODPO margin
    label_smoothing: float = 0.0
    listwise_weight: float = 0.0  # >0 adds Plackett-Luce DPO steps on ranked lists
    lora_rank: int = 0  # 0: full fine-tune
    lora_alpha: float = 16.0
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    seed: int = 0
    eval_prompts: int = 8  # held-out prompts sampled for KL, length and RM score
    eval_max_new_tokens: int = 48
    device: str = "auto"  # "auto": CUDA when available (a GPU worker), else CPU

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DPOConfig:
        known = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__}
        return replace(cls(), **known)


# --- tokenisation and batching ---------------------------------------------------------


def encode_prompt(tokenizer: Any, prompt: Sequence[Message], max_tokens: int) -> list[int]:
    messages = [dict(m) for m in prompt]
    if getattr(tokenizer, "chat_template", None):
        out = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        ids = list(out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out)
    else:
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[-max_tokens:]


def encode_response(tokenizer: Any, text: str, max_tokens: int) -> list[int]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max_tokens - 1]
    return [*ids, tokenizer.eos_token_id]


@dataclass
class Example:
    prompt: list[int]
    completions: list[list[int]]  # pair: [chosen, rejected]; list: best first
    groups: list[int]  # rank group per completion (pairs: [0, 1])
    margin: float = 0.0

    @property
    def length(self) -> int:
        return len(self.prompt) * len(self.completions) + sum(map(len, self.completions))


def make_examples(
    tokenizer: Any, items: Sequence[PreferencePair | RankedList], cfg: DPOConfig
) -> list[Example]:
    out = []
    for it in items:
        prompt = encode_prompt(tokenizer, it.prompt, cfg.max_prompt_tokens)
        if isinstance(it, PreferencePair):
            texts, groups, margin = [it.chosen, it.rejected], [0, 1], it.margin
        else:
            texts = [t for g in it.groups for t in g]
            groups = [k for k, g in enumerate(it.groups) for _ in g]
            margin = 0.0
        comps = [encode_response(tokenizer, t, cfg.max_response_tokens) for t in texts]
        out.append(Example(prompt, comps, groups, margin))
    return out


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, Tensor]:
    """Rows: all completions of all examples, example-major ([c0, r0, c1, r1, ...] for
    pairs). Labels are -100 except at completion tokens."""
    rows = [(ex.prompt, c) for ex in examples for c in ex.completions]
    width = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, c) in enumerate(rows):
        seq = p + c
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, len(p) : len(seq)] = torch.tensor(c)
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def bucketed_batches(
    examples: Sequence[Example], batch_size: int, rng: random.Random
) -> list[list[int]]:
    order = sorted(range(len(examples)), key=lambda i: (examples[i].length, i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


# --- the forward: completion log-probs with the LM head only where needed ---------------


def completion_logps(model: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Per-row sum of completion token log-probs and completion token counts."""
    body = getattr(model, model.base_model_prefix)
    hidden = body(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    where = labels != -100
    # Position t predicts token t+1: gather hidden states before each completion token.
    h = hidden[:, :-1][where]
    logits = model.get_output_embeddings()(h)
    tok = sequence_logps(logits, labels[where])
    rows = torch.nonzero(where)[:, 0]
    n_rows = batch["input_ids"].shape[0]
    sums = torch.zeros(n_rows, dtype=tok.dtype, device=tok.device).index_add(0, rows, tok)
    counts = where.sum(dim=1)
    return sums, counts


@torch.no_grad()
def all_logps(
    model: Any, examples: Sequence[Example], batch_size: int, pad_id: int, device: str
) -> list[Tensor]:
    out: list[Tensor] = [torch.zeros(0)] * len(examples)
    order = sorted(range(len(examples)), key=lambda i: examples[i].length)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in idx], pad_id).items()}
        sums, _ = completion_logps(model, batch)
        sums = sums.float().cpu()
        offset = 0
        for i in idx:
            k = len(examples[i].completions)
            out[i] = sums[offset : offset + k]
            offset += k
    return out


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
    # Imported here: dpo_eval builds on this module's batching helpers.
    from .dpo_eval import eval_prompts_of, evaluate, sample, sample_metrics

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
    eval_prompts = eval_prompts_of(ds, cfg.eval_prompts)
    reference = copy.deepcopy(model).eval() if eval_prompts else None
    old_samples = sample(reference, tokenizer, eval_prompts, cfg) if reference is not None else []

    # Reference log-probs once, from the untouched weights (policy == reference now).
    model.eval()
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
        metrics.update(
            sample_metrics(model, reference, tokenizer, eval_prompts, old_samples, cfg, score_fn)
        )
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
