"""DPO inputs: the config, tokenisation, length-bucketed batches, and the forward that
gives completion log-probs with the LM head only where needed. Shared by the training
loop (``dpo``) and its held-out evaluation (``dpo_eval``). No Django here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from .data import Message, PreferencePair, RankedList
from .losses import sequence_logps

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


def completion_logits(model: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Logits at the completion positions only (flattened, row-major) and the mask of
    those positions over ``labels[:, 1:]``. The LM head runs only where a completion
    token is predicted: position t predicts token t+1."""
    body = getattr(model, model.base_model_prefix)
    hidden = body(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    where = batch["labels"][:, 1:] != -100
    return model.get_output_embeddings()(hidden[:, :-1][where]), where


def completion_logps(model: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Per-row sum of completion token log-probs and completion token counts."""
    logits, where = completion_logits(model, batch)
    labels = batch["labels"][:, 1:]
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
