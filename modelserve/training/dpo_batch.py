"""DPO inputs: the config, tokenisation, length-bucketed batches with each prompt computed
once, and the forward that gives completion log-probs with the LM head only where needed.
Shared by the training loop (``dpo``) and its held-out evaluation (``dpo_eval``). No Django
here.
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
    # "auto": on a GPU that has bf16, the model computes in bf16 and AdamW updates fp32
    # master weights (modelserve.training.precision); fp32 on CPU. "bf16" asks for the
    # former anywhere, "fp32" for the latter.
    precision: str = "auto"

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
        """Tokens in its batch row: the prompt once, then every completion."""
        return len(self.prompt) + sum(map(len, self.completions))


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


@dataclass
class Batch:
    """One row per example: its prompt once, then each of its completions.

    Every completion continues the prompt's positions and sees only the prompt and itself
    (``segments`` says which part each token is in; the attention mask is built from it
    on the device), so the prompt of a pair is computed once instead of once per answer.
    Everything the loss needs is decided here, on the host, from the known lengths: where
    the completion tokens are predicted, what they are and whose they are. The training
    step then never asks the device for a size, and never waits for it."""

    input_ids: Tensor  # [rows, width]
    position_ids: Tensor  # [rows, width]
    segments: Tensor  # [rows, width]: 0 prompt, k >= 1 the k-th completion, -1 padding
    index: Tensor  # [T] flat positions (into rows x width) that predict a completion token
    targets: Tensor  # [T] the token each of them predicts
    owner: Tensor  # [T] its completion, numbered example-major from 0
    counts: Tensor  # [completions] tokens per completion
    completion_ids: Tensor  # [completions] where each completion sits in ``all_logps``
    margins: Tensor  # [examples]
    n_tokens: int  # real tokens (a host int: counting them costs no device sync)

    @property
    def n_completions(self) -> int:
        return int(self.counts.shape[0])

    def to(self, device: str | torch.device) -> Batch:
        if torch.device(device).type != "cuda":
            return self
        # Pinned and non-blocking: a copy from pageable memory makes the host wait for
        # every kernel queued so far, which would stall the next step's launches.
        moved = {
            f: getattr(self, f).pin_memory().to(device, non_blocking=True)
            for f in self.__dataclass_fields__
            if isinstance(getattr(self, f), Tensor)
        }
        return replace(self, **moved)


def collate(
    examples: Sequence[Example], pad_id: int, completion_ids: Sequence[int] | None = None
) -> Batch:
    """``completion_ids``: the flat number of each example's first completion in the
    reference log-probs (``all_logps``); default: numbered from 0 in this batch."""
    width = max(ex.length for ex in examples)
    n = len(examples)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    pos = torch.zeros((n, width), dtype=torch.long)
    seg = torch.full((n, width), -1, dtype=torch.long)
    index: list[int] = []
    targets: list[int] = []
    owner: list[int] = []
    counts: list[int] = []
    flat_ids: list[int] = []
    for row, ex in enumerate(examples):
        p = len(ex.prompt)
        base = row * width
        ids[row, :p] = torch.tensor(ex.prompt, dtype=torch.long)
        pos[row, :p] = torch.arange(p)
        seg[row, :p] = 0
        start = p
        first = completion_ids[row] if completion_ids is not None else len(counts)
        for k, comp in enumerate(ex.completions):
            c = len(comp)
            end = start + c
            ids[row, start:end] = torch.tensor(comp, dtype=torch.long)
            pos[row, start:end] = torch.arange(p, p + c)
            seg[row, start:end] = k + 1
            # The first token is predicted by the prompt's last position (an empty prompt
            # has none: it is then predicted by nothing and left out, as before); the
            # others by the completion's own previous token.
            preds = ([base + p - 1] if p else []) + list(range(base + start, base + end - 1))
            index += preds
            targets += comp[len(comp) - len(preds) :]
            owner += [len(counts)] * len(preds)
            counts.append(len(preds))
            flat_ids.append(first + k)
            start = end
    return Batch(
        input_ids=ids,
        position_ids=pos,
        segments=seg,
        index=torch.tensor(index, dtype=torch.long),
        targets=torch.tensor(targets, dtype=torch.long),
        owner=torch.tensor(owner, dtype=torch.long),
        counts=torch.tensor(counts, dtype=torch.long),
        completion_ids=torch.tensor(flat_ids, dtype=torch.long),
        margins=torch.tensor([ex.margin for ex in examples], dtype=torch.float32),
        n_tokens=sum(ex.length for ex in examples),
    )


def bucketed_batches(
    examples: Sequence[Example], batch_size: int, rng: random.Random
) -> list[list[int]]:
    order = sorted(range(len(examples)), key=lambda i: (examples[i].length, i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


# --- the forward: completion log-probs with the LM head only where needed ---------------


def attention_mask(model: Any, segments: Tensor) -> Tensor:
    """[rows, 1, width, width] in the form the model's attention takes: causal, and a
    completion sees the prompt and itself only. Padding sees the padding before it
    (itself at least): a query that may see nothing gives NaN in SDPA, and 0 x NaN in the
    backward pass would poison the weight gradients."""
    width = segments.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool, device=segments.device).tril()
    q, k = segments[:, :, None], segments[:, None, :]
    allowed = (causal & ((k == 0) | (k == q)))[:, None]
    impl = getattr(model.config, "_attn_implementation", "eager")
    if impl == "sdpa":
        return allowed
    if impl == "eager":
        dtype = next(model.parameters()).dtype
        return torch.zeros(allowed.shape, dtype=dtype, device=segments.device).masked_fill(
            ~allowed, torch.finfo(dtype).min
        )
    raise ValueError(
        f"DPO needs the sdpa or eager attention (a mask per completion); got {impl!r}."
    )


def completion_logits(model: Any, batch: Batch) -> Tensor:
    """Logits at the positions that predict a completion token, in ``batch.index``
    order. The LM head (576 x 49,152 for SmolLM2) runs only there."""
    body = getattr(model, model.base_model_prefix)
    hidden = body(
        input_ids=batch.input_ids,
        position_ids=batch.position_ids,
        attention_mask=attention_mask(model, batch.segments),
        use_cache=False,  # a training forward: no key/value cache to build
    ).last_hidden_state
    flat = hidden.reshape(-1, hidden.shape[-1]).index_select(0, batch.index)
    return model.get_output_embeddings()(flat)


def completion_logps(model: Any, batch: Batch) -> tuple[Tensor, Tensor]:
    """Per-completion sum of token log-probs (example-major) and token counts."""
    tok = sequence_logps(completion_logits(model, batch), batch.targets)
    sums = torch.zeros(batch.n_completions, dtype=tok.dtype, device=tok.device)
    return sums.index_add(0, batch.owner, tok), batch.counts


def first_completion_ids(examples: Sequence[Example]) -> list[int]:
    """Where each example's completions start in the flat, example-major numbering."""
    out, n = [], 0
    for ex in examples:
        out.append(n)
        n += len(ex.completions)
    return out


@torch.no_grad()
def all_logps(
    model: Any, examples: Sequence[Example], batch_size: int, pad_id: int, device: str
) -> Tensor:
    """Summed log-probs of every completion, flat and example-major (the numbering of
    ``first_completion_ids``), left on ``device``: no batch waits for the one before."""
    first = first_completion_ids(examples)
    total = first[-1] + len(examples[-1].completions) if examples else 0
    out = torch.zeros(total, dtype=torch.float32, device=device)
    order = sorted(range(len(examples)), key=lambda i: examples[i].length)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = collate([examples[i] for i in idx], pad_id, [first[i] for i in idx])
        batch = batch.to(device)
        sums, _ = completion_logps(model, batch)
        out.index_copy_(0, batch.completion_ids, sums.float())
    return out
