"""The CTranslate2 engine for local weights: int8 on CPU, float16 on CUDA.

About twice the tokens per second of fp32 transformers on two cores (DESIGN.md). The
``local`` backend uses it unless ``CHORUS_LOCAL_ENGINE=transformers``; a folder that
cannot be converted or loaded falls back to transformers (logged once per folder).

CTranslate2 takes one temperature/top_p for a whole batch and one global random seed,
so rows are grouped by (temperature, top_p), and groups are split further until there
is one job per thread; all jobs run at once, each on its own one-thread replica
(``inter_threads``), so candidates that differ in temperature still stream side by
side. Each row stops on its own (EOS, its own token budget, stop strings, the soft
sentence-end stop) through the per-token callback.
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

from modelserve.generation.backends.base import (
    BackendConfigError,
    BackendError,
    BatchResult,
    BatchRow,
)
from modelserve.generation.backends.ct2_files import ct2_dir
from modelserve.generation.backends.rows import RowState, prepare_prompt
from modelserve.generation.model_files import ModelFilesError, resolve_model_dir

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


def engine_device() -> tuple[str, str]:
    import ctranslate2  # heavy, optional: loaded only where a model runs

    if ctranslate2.get_cuda_device_count() > 0:
        return "cuda", "float16"
    return "cpu", "int8"


def _threads() -> int:
    value = os.environ.get("CHORUS_TORCH_THREADS", "").strip()
    return max(1, int(value)) if value else (os.cpu_count() or 1)


class Ct2Model:
    """A loaded ``ctranslate2.Generator`` with the HF tokenizer of the folder it came from."""

    def __init__(self, hf_dir: Path):
        import ctranslate2  # heavy, optional: loaded only where a model runs
        from transformers import AutoTokenizer  # heavy, optional: as ctranslate2

        device, quantization = engine_device()
        self.folder = str(hf_dir)
        self.path = ct2_dir(hf_dir, quantization=quantization)
        # One thread per batch, as many batches at once as we have threads (see _jobs).
        self.lanes = 1 if device == "cuda" else _threads()
        self.generator = ctranslate2.Generator(
            str(self.path),
            device=device,
            compute_type=quantization,
            inter_threads=self.lanes,
            intra_threads=1,
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


def _jobs(groups: list[list[Any]], lanes: int) -> list[list[Any]]:
    """Split sampling groups into at least ``lanes`` jobs where rows allow (largest first).

    Each job is one ``generate_batch`` on its own replica (one core each): on two busy
    cores, two one-thread batches of two rows beat one two-thread batch of four (thread
    synchronisation dominates a 135M model's small matrices; measured 2.6 s vs 7.3 s).
    """
    jobs = [list(g) for g in groups if g]
    while len(jobs) < lanes:
        jobs.sort(key=len, reverse=True)
        if len(jobs[0]) < 2:
            break
        big = jobs.pop(0)
        half = (len(big) + 1) // 2
        jobs += [big[:half], big[half:]]
    return jobs


class Ct2Backend:
    def __init__(self, loaded: Ct2Model):
        self.m = loaded

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        m = self.m
        results: list[BatchResult | None] = [None] * len(rows)
        groups: dict[tuple[float, float], list[tuple[int, RowState, list[int], str]]] = {}
        for n, row in enumerate(rows):
            try:
                ids, notice = prepare_prompt(m.tokenizer, row, m.context)
            except BackendError as exc:
                results[n] = exc
                continue
            state = RowState(m.tokenizer, row)
            key = (row.params.temperature, row.params.top_p)
            groups.setdefault(key, []).append((n, state, ids, notice))
        jobs = _jobs(list(groups.values()), m.lanes)
        errors = self._run(jobs) if jobs else {}
        for job_no, members in enumerate(jobs):
            for n, state, _ids, notice in members:
                if job_no in errors:
                    results[n] = BackendError(f"CTranslate2 generation failed: {errors[job_no]}")
                    continue
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

    def _run(self, jobs: list[list[Any]]) -> dict[int, Exception]:
        """Start every job at once (asynchronously, one replica each); errors per job."""
        import ctranslate2  # heavy, optional: loaded only where a model runs

        m = self.m
        eos = set(m.eos)
        pending = []
        with m.run_lock:
            seed = jobs[0][0][1].params.seed
            if seed is not None:
                ctranslate2.set_random_seed(int(seed))
            for members in jobs:
                states = [state for _, state, _, _ in members]
                params = states[0].params
                greedy = params.temperature <= 0

                def on_step(step: Any, states: list[Any] = states, eos: set[int] = eos) -> bool:
                    # Called from the engine's threads. It must hold no reference to the
                    # generator: the last reference dropped on an engine thread would
                    # destroy the generator from inside its own pool (an abort).
                    state = states[step.batch_id]
                    if state.finish:
                        return True
                    state.take(int(step.token_id), eos, time.perf_counter())
                    return bool(state.finish)

                pending.append(
                    m.generator.generate_batch(
                        [m.tokenizer.convert_ids_to_tokens(ids) for _, _, ids, _ in members],
                        asynchronous=True,
                        max_length=max(s.params.max_new_tokens for s in states),
                        include_prompt_in_result=False,
                        end_token=sorted(m.eos),
                        min_length=1,  # an empty reply is a failed candidate: never end at once
                        sampling_topk=1 if greedy else 0,
                        sampling_topp=1.0 if greedy else params.top_p,
                        sampling_temperature=1.0 if greedy else params.temperature,
                        callback=on_step,
                    )
                )
            errors: dict[int, Exception] = {}
            for job_no, handles in enumerate(pending):
                for handle in handles:
                    try:
                        handle.result()
                    except (RuntimeError, ValueError) as exc:
                        errors[job_no] = exc
        return errors
