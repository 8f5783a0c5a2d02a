"""A scripted backend for tests and demos without a model: fast, deterministic, streamed.

Register it with ``CHORUS_GENERATION_BACKENDS = {"fake":
"modelserve.generation.backends.fake.FakeBackend"}`` and give an endpoint
``backend="fake"``. ``model`` picks the behaviour: ``"echo"`` (or ``"echo:0.02"`` for a
delay in seconds between words, to watch streaming), ``"fail"`` (always a retryable
error) or ``"fail-config"`` (a non-retryable one).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from modelserve.generation.backends.base import (
    BackendConfigError,
    BackendError,
    BatchByLoop,
    BatchResult,
    BatchRow,
    GenerationResult,
    Message,
    OnText,
    SamplingParams,
    StreamTimer,
    with_system_prompt,
)


class FakeBackend(BatchByLoop):
    calls = 0  # class-wide counter: tests read it to see retries happen
    batch_calls = 0  # how many generate_batch calls (one per turn and set of weights)
    # The history of the latest call, system prompt included: what a real model is sent.
    last_messages: list[dict[str, str]] = []

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        FakeBackend.batch_calls += 1
        return super().generate_batch(rows)

    def __init__(self, model: str = "echo", **_ignored: Any):
        mode, _sep, delay = (model or "echo").partition(":")
        self.mode = mode
        self.delay = float(delay or 0)

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult:
        FakeBackend.calls += 1
        FakeBackend.last_messages = with_system_prompt(messages, params.system_prompt)
        if self.mode == "fail":
            raise BackendError("scripted failure")
        if self.mode == "fail-config":
            raise BackendConfigError("scripted configuration error")
        last = str(messages[-1]["content"]) if messages else ""
        words = (
            f"Reply {params.seed if params.seed is not None else 0} at temperature "
            f"{params.temperature:g} to: {last}"
        ).split()
        cut = len(words) > params.max_new_tokens
        words = words[: params.max_new_tokens]
        timer = StreamTimer(on_text)
        for n, word in enumerate(words):
            if self.delay:
                time.sleep(self.delay)
            timer.push(word if n == 0 else " " + word)
        return timer.result(
            n_tokens=len(words),
            finish_reason="length" if cut else "stop",
            model=f"fake:{self.mode}",
        )
