"""Local transformers backend: the packaged SmolLM2 and every refit policy folder.

Models are loaded once per process and cached by their resolved folder, so a Celery
worker pays the load (about 1 s for SmolLM2 from its converted copy) on its first task
only, and a refit's new ``PolicyVersion.artifact_dir`` is simply another cache key.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelserve.backends.base import (
    BackendConfigError,
    BackendError,
    GenerationResult,
    Message,
    OnText,
    SamplingParams,
    StreamTimer,
    with_system_prompt,
)

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
        import torch

        torch.set_num_threads(max(1, int(value)))


def load_cached(model: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, folder) for an endpoint's ``model`` value, loading it at most once."""
    from modelserve.model_files import ModelFilesError, load_causal_lm, resolve_model_dir

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


class _IncrementalDecoder:
    """A transformers streamer that hands out new text as tokens arrive.

    Decoding the whole generated tail each step (not token by token) keeps multi-byte
    characters and merged word pieces right; a tail ending in U+FFFD is an incomplete
    UTF-8 sequence, so we wait for the next token before emitting it.
    """

    def __init__(self, tokenizer: Any, timer: StreamTimer, stop: tuple[str, ...]):
        self.tokenizer = tokenizer
        self.timer = timer
        self.stop = stop
        self.prompt_seen = False
        self.ids: list[int] = []
        self.emitted = ""
        self.stopped = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt ids
            self.prompt_seen = True
            return
        if self.stopped:
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        self._flush(final=False)

    def end(self) -> None:
        self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        for stop in self.stop:
            at = text.find(stop)
            if at >= 0:
                text = text[:at]
                self.stopped = True
        if not final and not self.stopped and text.endswith("\ufffd"):
            return
        if text.startswith(self.emitted) and len(text) > len(self.emitted):
            self.timer.push(text[len(self.emitted) :])
            self.emitted = text


class LocalBackend:
    def __init__(self, model: str = "default", **_: Any):
        self.model_name = model or "default"

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        model, tokenizer, folder = load_cached(self.model_name)
        history = with_system_prompt(messages, params.system_prompt)
        timer = StreamTimer(on_text)
        try:
            encoded = tokenizer.apply_chat_template(
                history, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        except Exception as exc:  # a tokenizer without a chat template, bad roles...
            raise BackendConfigError(f"cannot apply the chat template: {exc}") from exc
        streamer = _IncrementalDecoder(tokenizer, timer, params.stop)

        class _StopOnString(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), streamer.stopped, dtype=torch.bool)

        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "max_time": params.timeout_s,
            "pad_token_id": tokenizer.pad_token_id,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_StopOnString()]),
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with _generate_locks[folder], torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            try:
                output = model.generate(**encoded, **kwargs)
            except RuntimeError as exc:  # e.g. out of memory: may pass on a retry
                raise BackendError(f"local generation failed: {exc}") from exc
        n_new = int(output.shape[-1] - encoded["input_ids"].shape[-1])
        finish = "length" if n_new >= params.max_new_tokens else "stop"
        return timer.result(n_tokens=n_new, finish_reason=finish, model=folder)
