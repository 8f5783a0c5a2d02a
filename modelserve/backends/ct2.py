"""The CTranslate2 engine for local weights: int8 on CPU, float16 on CUDA.

About twice the tokens per second of fp32 transformers on two cores (DESIGN.md). The
``local`` backend uses it unless ``CHORUS_LOCAL_ENGINE=transformers``; a folder that
cannot be converted or loaded falls back to transformers (logged once per folder).

CTranslate2 takes one temperature/top_p for a whole batch and one global random seed,
so rows are grouped by (temperature, top_p): the usual turn (same sampling for every
candidate) is one batch; candidates that differ in temperature run one group after the
other. Each row still stops on its own (EOS, its own token budget, stop strings, the
soft sentence-end stop) through the per-token callback.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from modelserve.backends.base import BackendConfigError, BackendError, BatchResult, BatchRow

logger = logging.getLogger(__name__)

ENGINES = ("ctranslate2", "transformers")
_cache: dict[str, Ct2Model] = {}
_failed: set[str] = set()
_lock = threading.Lock()


def local_engine() -> str:
    engine = str(getattr(settings, "CHORUS_LOCAL_ENGINE", "ctranslate2") or "ctranslate2")
    if engine not in ENGINES:
        raise BackendConfigError(f"CHORUS_LOCAL_ENGINE must be one of {', '.join(ENGINES)}")
    return engine


def _device() -> tuple[str, str]:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        return "cuda", "float16"
    return "cpu", "int8"


def _threads() -> int:
    value = os.environ.get("CHORUS_TORCH_THREADS", "").strip()
    return max(1, int(value)) if value else (os.cpu_count() or 1)


class Ct2Model:
    """A loaded ``ctranslate2.Generator`` with the HF tokenizer of the folder it came from."""

    def __init__(self, hf_dir: Path):
        import ctranslate2
        from transformers import AutoTokenizer

        from modelserve.backends.ct2_files import ct2_dir

        device, quantization = _device()
        self.folder = str(hf_dir)
        self.path = ct2_dir(hf_dir, quantization=quantization)
        self.generator = ctranslate2.Generator(
            str(self.path), device=device, compute_type=quantization, intra_threads=_threads()
        )
        self.tokenizer = AutoTokenizer.from_pretrained(hf_dir)
        config = json.loads((hf_dir / "config.json").read_text())
        self.context = int(config.get("max_position_embeddings") or 2048)
        eos = config.get("eos_token_id")
        ids = {eos} if isinstance(eos, int) else set(eos or [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        self.eos = ids
        self.run_lock = threading.Lock()  # one batch at a time: it uses every thread


def ct2_backend_for(model: str) -> Ct2Backend | None:
    """The CTranslate2 engine for an endpoint's ``model``, or None to use transformers."""
    if local_engine() != "ctranslate2":
        return None
    from modelserve.model_files import ModelFilesError, resolve_model_dir

    try:
        folder = Path(resolve_model_dir(model)).resolve()
    except ModelFilesError as exc:
        raise BackendConfigError(str(exc)) from exc
    key = str(folder)
    if key in _failed:
        return None
    loaded = _cache.get(key)
    if loaded is None:
        with _lock:
            loaded = _cache.get(key)
            if loaded is None and key not in _failed:
                try:
                    loaded = Ct2Model(folder)
                except Exception:  # conversion or load failed: transformers still works
                    logger.exception("CTranslate2 unavailable for %s; using transformers", key)
                    _failed.add(key)
                    return None
                _cache[key] = loaded
    return Ct2Backend(loaded) if loaded is not None else None


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _failed.clear()


class Ct2Backend:
    def __init__(self, loaded: Ct2Model):
        self.m = loaded

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        from modelserve.backends.local import _Row, prepare_prompt

        m = self.m
        results: list[BatchResult | None] = [None] * len(rows)
        groups: dict[tuple[float, float], list[tuple[int, _Row, list[int], str]]] = {}
        for n, row in enumerate(rows):
            try:
                ids, notice = prepare_prompt(m.tokenizer, row, m.context)
            except BackendError as exc:
                results[n] = exc
                continue
            state = _Row(m.tokenizer, row, seed_fallback=int(time.time_ns() % 2**31))
            key = (row.params.temperature, row.params.top_p)
            groups.setdefault(key, []).append((n, state, ids, notice))
        for (temperature, top_p), members in groups.items():
            try:
                self._run(temperature, top_p, members)
            except (RuntimeError, ValueError) as exc:
                for n, *_ in members:
                    results[n] = BackendError(f"CTranslate2 generation failed: {exc}")
                continue
            for n, state, _ids, notice in members:
                state.decoder.flush(final=True)
                if not state.finish:  # ended by EOS inside the engine, or at max_length
                    limit = state.params.max_new_tokens
                    state.finish = "length" if state.n_new >= limit else "stop"
                results[n] = state.timer.result(
                    n_tokens=state.n_new,
                    finish_reason=state.finish,
                    model=f"ctranslate2:{m.path}",
                    notice=notice,
                )
        return [r for r in results if r is not None]

    def _run(self, temperature: float, top_p: float, members: list[Any]) -> None:
        import ctranslate2

        m = self.m
        states = [state for _, state, _, _ in members]
        tokens = [m.tokenizer.convert_ids_to_tokens(ids) for _, _, ids, _ in members]

        def on_step(step: Any) -> bool:
            state = states[step.batch_id]
            if state.finish:
                return True
            state.take(int(step.token_id), m.eos, time.perf_counter())
            return bool(state.finish)

        greedy = temperature <= 0
        with m.run_lock:
            seed = states[0].params.seed
            if seed is not None:
                ctranslate2.set_random_seed(int(seed))
            m.generator.generate_batch(
                tokens,
                max_length=max(s.params.max_new_tokens for s in states),
                include_prompt_in_result=False,
                end_token=sorted(m.eos),
                min_length=1,  # an empty reply is a failed candidate: never end at once
                sampling_topk=1 if greedy else 0,
                sampling_topp=1.0 if greedy else top_p,
                sampling_temperature=1.0 if greedy else temperature,
                callback=on_step,
            )
