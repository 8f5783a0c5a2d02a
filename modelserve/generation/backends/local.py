"""Local transformers backend: the packaged SmolLM2 and every refit policy folder.

Models are loaded once per process and cached by their resolved folder: a generate
worker loads the default model when its pool process starts (modelserve.generation.warmup),
and a refit's new ``PolicyVersion.artifact_dir`` is simply another cache key. With
CHORUS_LOCAL_ENGINE=ctranslate2 (the default) this backend serves only what CTranslate2
cannot (modelserve.generation.backends.ct2).

torch is imported inside the functions that need it: it is heavy (seconds, hundreds of
MB) and optional here, since a web process imports this module without generating, and
the CTranslate2 engine serves the default model without torch.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelserve.generation.backends.base import (
    BackendConfigError,
    BackendError,
    BatchResult,
    BatchRow,
    GenerationResult,
    Message,
    OnText,
    SamplingParams,
)
from modelserve.generation.backends.ct2 import ct2_backend_for
from modelserve.generation.backends.rows import RowState, prepare_prompt
from modelserve.generation.model_files import ModelFilesError, load_causal_lm, resolve_model_dir

logger = logging.getLogger(__name__)

_cache: dict[str, tuple[Any, Any]] = {}
_cache_lock = threading.Lock()
# One generation at a time per loaded model: torch already uses every core it is given,
# and interleaving two generate() calls on one model only adds contention.
_generate_locks: dict[str, threading.Lock] = {}
_threads_set = False


def _apply_thread_setting() -> None:
    """CHORUS_TORCH_THREADS caps torch's threads (set it to cores / worker processes)."""
    global _threads_set
    if _threads_set:
        return
    _threads_set = True
    value = os.environ.get("CHORUS_TORCH_THREADS", "").strip()
    if value:
        import torch  # heavy, optional: see the module docstring

        torch.set_num_threads(max(1, int(value)))


def load_cached(model: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, folder) for an endpoint's ``model`` value, loading it at most once."""
    try:
        folder = str(Path(resolve_model_dir(model)).resolve())
    except ModelFilesError as exc:
        raise BackendConfigError(str(exc)) from exc
    cached = _cache.get(folder)
    if cached is not None:
        return cached[0], cached[1], folder
    with _cache_lock:
        cached = _cache.get(folder)
        if cached is None:
            _apply_thread_setting()
            logger.info("Loading model from %s", folder)
            try:
                cached = load_causal_lm(folder)
            except (OSError, ValueError) as exc:
                raise BackendConfigError(f"cannot load model from {folder}: {exc}") from exc
            _cache[folder] = cached
            _generate_locks[folder] = threading.Lock()
    return cached[0], cached[1], folder


def cached_folders() -> list[str]:
    return sorted(_cache)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _generate_locks.clear()


def _sample(logits: Any, params: SamplingParams, generator: Any) -> int:
    """One token for one row: greedy at temperature 0, else temperature + top-p."""
    import torch  # heavy, optional: see the module docstring

    if params.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        sorted_probs[(cumulative - sorted_probs) > params.top_p] = 0.0
        pick = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[pick])
    return int(torch.multinomial(probs, 1, generator=generator))


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return ids


def _cache_of(out: Any) -> Any:
    """The KV cache of a forward output (``cache`` in transformers 5, else the old name)."""
    fields = getattr(out, "__dataclass_fields__", {})
    return out.cache if "cache" in fields else out.past_key_values


class _TorchRow(RowState):
    """A row of the transformers engine: also its own seeded sampling generator."""

    def __init__(self, tokenizer: Any, row: BatchRow, seed_fallback: int):
        import torch  # heavy, optional: see the module docstring

        super().__init__(tokenizer, row)
        self.generator = torch.Generator().manual_seed(
            row.params.seed if row.params.seed is not None else seed_fallback
        )


class LocalBackend:
    """Local weights: CTranslate2 by default on CPU (``CHORUS_LOCAL_ENGINE``), else torch."""

    def __init__(self, model: str = "default", **_: Any):
        self.model_name = model or "default"

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult:
        (result,) = self.generate_batch([BatchRow(messages, params, on_text)])
        if isinstance(result, BackendError):
            raise result
        return result

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        ct2 = ct2_backend_for(self.model_name)
        if ct2 is not None:
            return ct2.generate_batch(rows)
        return self.generate_batch_torch(rows)

    def generate_batch_torch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        """All rows in one left-padded batch with a KV cache, each with its own sampling.

        A small loop instead of ``model.generate`` because generate() takes one
        temperature/top_p/seed for the whole batch; here every candidate keeps its own.
        """
        import torch  # heavy, optional: see the module docstring

        model, tokenizer, folder = load_cached(self.model_name)
        context = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        results: list[BatchResult | None] = [None] * len(rows)
        live: list[tuple[int, _TorchRow, list[int], str]] = []
        for n, row in enumerate(rows):
            try:
                ids, notice = prepare_prompt(tokenizer, row, context)
            except BackendError as exc:
                results[n] = exc
                continue
            live.append(
                (n, _TorchRow(tokenizer, row, seed_fallback=torch.seed() % 2**31), ids, notice)
            )
        if live:
            try:
                with _generate_locks[folder], torch.inference_mode():
                    self._decode(model, tokenizer, [(r, ids) for _, r, ids, _ in live])
            except RuntimeError as exc:  # e.g. out of memory: may pass on a retry
                error = BackendError(f"local generation failed: {exc}")
                for n, *_ in live:
                    results[n] = error
                return [r if r is not None else error for r in results]
            for n, state, _ids, notice in live:
                state.decoder.flush(final=True)
                results[n] = state.timer.result(
                    n_tokens=state.n_new,
                    finish_reason=state.finish or "length",
                    model=folder,
                    notice=notice,
                )
        return [r for r in results if r is not None]

    @staticmethod
    def _decode(model: Any, tokenizer: Any, batch: list[tuple[_TorchRow, list[int]]]) -> None:
        import torch  # heavy, optional: see the module docstring

        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        eos = eos_ids(model, tokenizer)
        width = max(len(ids) for _, ids in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (_, ids) in enumerate(batch):  # left padding: every row ends at the same column
            input_ids[i, width - len(ids) :] = torch.tensor(ids)
            mask[i, width - len(ids) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True
        )
        past = _cache_of(out)
        # transformers 5 renamed the argument (``past_key_values`` still works, deprecated).
        cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else None
        cache_arg = cache_arg or "past_key_values"
        steps = max(state.params.max_new_tokens for state, _ in batch)
        for _ in range(steps):
            logits = out.logits[:, -1, :]
            now = time.perf_counter()
            nxt = []
            for i, (state, _) in enumerate(batch):
                if state.finish:
                    nxt.append(pad)
                    continue
                row_logits = logits[i]
                if state.n_new == 0:  # an empty reply is a failed candidate: never end at once
                    row_logits = row_logits.clone()
                    row_logits[list(eos)] = float("-inf")
                token = _sample(row_logits, state.params, state.generator)
                state.take(token, eos, now)
                nxt.append(token)
            if all(state.finish for state, _ in batch):
                return
            mask = torch.cat([mask, torch.ones((len(batch), 1), dtype=torch.long)], dim=-1)
            positions = positions[:, -1:] + 1
            out = model(
                input_ids=torch.tensor(nxt).unsqueeze(-1),
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                **{cache_arg: past},
            )
            past = _cache_of(out)
