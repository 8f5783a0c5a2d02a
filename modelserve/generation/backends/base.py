"""The one interface every generation backend speaks, with no Django in it.

A backend turns a chat history plus sampling parameters into text. ``generate`` calls
``on_text`` with each new piece of text as it is produced (token streaming where the
backend can; a backend that cannot calls it once with the whole reply), so a worker can
write progressive text for the live conversation page while the reply is being written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

Message = Mapping[str, str]  # {"role": "user"|"assistant"|"system", "content": str}
OnText = Callable[[str], None]

# Parameter names an endpoint's ``params`` or a campaign may set; anything else is refused
# so a typo ("temprature") is an admin-visible error, not a silently ignored knob.
PARAM_NAMES = (
    "temperature",
    "top_p",
    "max_new_tokens",
    "seed",
    "system_prompt",
    "timeout_s",
    "stop",
)


class BackendError(RuntimeError):
    """Generation failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class BackendConfigError(BackendError):
    """The endpoint is misconfigured (missing key, bad URL, unknown model): never retried."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 256
    seed: int | None = None
    # Prepended as a system message unless the history already starts with one.
    system_prompt: str = ""
    timeout_s: float = 120.0
    stop: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> SamplingParams:
        """Build from endpoint/campaign JSON, with clear errors for bad values."""
        raw = dict(raw or {})
        unknown = set(raw) - set(PARAM_NAMES)
        if unknown:
            raise BackendConfigError(f"unknown sampling parameters: {', '.join(sorted(unknown))}")
        out = cls()
        try:
            if "temperature" in raw:
                out = replace(out, temperature=float(raw["temperature"]))
            if "top_p" in raw:
                out = replace(out, top_p=float(raw["top_p"]))
            if "max_new_tokens" in raw:
                out = replace(out, max_new_tokens=int(raw["max_new_tokens"]))
            if raw.get("seed") is not None:
                out = replace(out, seed=int(raw["seed"]))
            if "system_prompt" in raw:
                out = replace(out, system_prompt=str(raw["system_prompt"] or ""))
            if "timeout_s" in raw:
                out = replace(out, timeout_s=float(raw["timeout_s"]))
            if raw.get("stop"):
                stop = raw["stop"]
                out = replace(out, stop=(stop,) if isinstance(stop, str) else tuple(stop))
        except (TypeError, ValueError) as exc:
            raise BackendConfigError(f"bad sampling parameter: {exc}") from exc
        if not 0.0 <= out.temperature <= 5.0:
            raise BackendConfigError("temperature must be between 0 and 5")
        if not 0.0 < out.top_p <= 1.0:
            raise BackendConfigError("top_p must be in (0, 1]")
        if not 1 <= out.max_new_tokens <= 8192:
            raise BackendConfigError("max_new_tokens must be between 1 and 8192")
        if not 0 < out.timeout_s <= 3600:
            raise BackendConfigError("timeout_s must be between 0 and 3600 seconds")
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


@dataclass
class GenerationResult:
    text: str
    n_tokens: int | None = None
    latency_ms: int = 0
    # Time to the first piece of text; None when nothing was produced.
    first_token_ms: int | None = None
    finish_reason: str = ""  # "stop" (EOS, stop string, sentence end) or "length"
    model: str = ""
    # Something the annotator or admin should know, e.g. the prompt was cut to fit.
    notice: str = ""


def with_system_prompt(messages: Sequence[Message], system_prompt: str) -> list[dict[str, str]]:
    """The history to send: plain dicts, the system prompt first if one is configured."""
    history = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    if not history:
        raise BackendConfigError("cannot generate from an empty chat history")
    if system_prompt and history[0]["role"] != "system":
        history.insert(0, {"role": "system", "content": system_prompt})
    return history


@dataclass
class BatchRow:
    """One candidate of a batched call: its history, its own sampling, its own stream."""

    messages: Sequence[Message]
    params: SamplingParams
    on_text: OnText | None = None
    # Called with the row's whole text as soon as that row ends, while others may still
    # be generating (so a short reply is complete on the page before the batch is).
    on_end: OnText | None = None


# Per row: the result, or the error that candidate alone failed with.
BatchResult = GenerationResult | BackendError


class Backend(Protocol):
    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult: ...

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]: ...


class BatchByLoop:
    """Default ``generate_batch``: one ``generate`` per row, each failure kept to its row."""

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult:
        raise NotImplementedError

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        out: list[BatchResult] = []
        for row in rows:
            try:
                out.append(self.generate(row.messages, row.params, on_text=row.on_text))
            except BackendError as exc:
                out.append(exc)
        return out


def soft_stop_at(text: str, n_tokens: int, max_new_tokens: int) -> bool:
    """Past ~80% of the token budget, a finished sentence is a natural place to stop.

    Keeps replies from being cut mid-word at the hard limit; the reply still counts as
    "stop" (a natural ending), not "length".
    """
    if max_new_tokens < 16 or n_tokens < int(0.8 * max_new_tokens):
        return False
    tail = text.rstrip(" ")
    return tail.endswith((".", "!", "?", "\n")) and len(tail.strip()) > 0


def truncate_left(ids: list[int], limit: int) -> tuple[list[int], int]:
    """Keep the last ``limit`` prompt tokens (the newest turns); returns (ids, dropped)."""
    if limit <= 0 or len(ids) <= limit:
        return ids, 0
    return ids[-limit:], len(ids) - limit


class StreamTimer:
    """Tracks latency and time to first text while a backend streams."""

    def __init__(self, on_text: OnText | None):
        self.started = time.perf_counter()
        self.first: float | None = None
        self.parts: list[str] = []
        self._on_text = on_text

    def push(self, piece: str) -> None:
        if not piece:
            return
        if self.first is None:
            self.first = time.perf_counter()
        self.parts.append(piece)
        if self._on_text is not None:
            self._on_text(piece)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def result(
        self, *, n_tokens: int | None, finish_reason: str, model: str, notice: str = ""
    ) -> GenerationResult:
        now = time.perf_counter()
        return GenerationResult(
            text="".join(self.parts),
            n_tokens=n_tokens,
            latency_ms=int((now - self.started) * 1000),
            first_token_ms=None if self.first is None else int((self.first - self.started) * 1000),
            finish_reason=finish_reason,
            model=model,
            notice=notice,
        )
