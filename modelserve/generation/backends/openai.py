"""OpenAI-compatible chat completions over HTTP (vLLM, llama.cpp server, Ollama, TGI, hosted).

Always asks for a streamed reply (server-sent events) and forwards each delta; a server
that answers with one JSON body instead is accepted too. Errors carry the server's own
message; 408/429/5xx and network failures are retryable, other 4xx answers are not
(retrying a bad request or a wrong key only burns the retry budget).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from modelserve.generation.backends.base import (
    BackendConfigError,
    BackendError,
    BatchResult,
    BatchRow,
    GenerationResult,
    Message,
    OnText,
    SamplingParams,
    StreamTimer,
    with_system_prompt,
)

_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def _error_message(status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        error = data.get("error", data) if isinstance(data, dict) else data
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = text
    return f"HTTP {status}: {(message or '').strip()[:500] or 'no error message'}"


class OpenAIBackend:
    """Batches run their rows concurrently, one thread each: the server batches them."""

    def __init__(
        self,
        model: str = "",
        base_url: str = "",
        api_key_env: str = "",
        transport: httpx.BaseTransport | None = None,
        **_: Any,
    ):
        if not base_url:
            raise BackendConfigError("an OpenAI-compatible endpoint needs a base URL")
        if not model or model == "default":
            raise BackendConfigError("an OpenAI-compatible endpoint needs a model name")
        self.model_name = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key_env = api_key_env
        self._transport = transport

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            if not key:
                raise BackendConfigError(
                    f"the API key variable {self.api_key_env} is not set in the worker's "
                    "environment"
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _body(
        self, messages: Sequence[Message], params: SamplingParams, *, usage: bool = True
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": with_system_prompt(messages, params.system_prompt),
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "stream": True,
        }
        if usage:  # token counts in the last event; a few servers refuse the option
            body["stream_options"] = {"include_usage": True}
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def generate_batch(self, rows: Sequence[BatchRow]) -> list[BatchResult]:
        def one(row: BatchRow) -> BatchResult:
            try:
                return self.generate(row.messages, row.params, on_text=row.on_text)
            except BackendError as exc:
                return exc

        if len(rows) <= 1:
            return [one(row) for row in rows]
        with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
            return list(pool.map(one, rows))

    def generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None = None,
    ) -> GenerationResult:
        try:
            return self._generate(messages, params, on_text, usage=True)
        except BackendError as exc:
            # Older servers answer 400/422 to ``stream_options``; ask once more without.
            if exc.retryable or "stream_options" not in str(exc):
                raise
            return self._generate(messages, params, on_text, usage=False)

    def _generate(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        on_text: OnText | None,
        *,
        usage: bool,
    ) -> GenerationResult:
        timer = StreamTimer(on_text)
        timeout = httpx.Timeout(params.timeout_s, connect=min(10.0, params.timeout_s))
        deadline = time.monotonic() + params.timeout_s
        n_tokens: int | None = None
        chunks = 0
        finish = ""
        try:
            with (
                httpx.Client(timeout=timeout, transport=self._transport) as client,
                client.stream(
                    "POST",
                    self.url,
                    json=self._body(messages, params, usage=usage),
                    headers=self._headers(),
                ) as reply,
            ):
                if reply.status_code >= 400:
                    message = _error_message(reply.status_code, reply.read())
                    raise BackendError(message, retryable=reply.status_code in _RETRYABLE_STATUS)
                if "text/event-stream" not in reply.headers.get("content-type", ""):
                    return self._from_json(reply.read(), timer)
                for line in reply.iter_lines():
                    if time.monotonic() > deadline:
                        raise BackendError(f"no complete reply within {params.timeout_s:g} s")
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, keep-alives
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    if "error" in event:
                        raise BackendError(_error_message(200, data.encode()))
                    for choice in event.get("choices") or []:
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") or ""
                        if piece:
                            chunks += 1
                            timer.push(piece)
                        finish = choice.get("finish_reason") or finish
                    counts = event.get("usage") or {}
                    if counts.get("completion_tokens") is not None:
                        n_tokens = int(counts["completion_tokens"])
        except httpx.TimeoutException as exc:
            raise BackendError(f"timed out talking to {self.url}: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot reach {self.url}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise BackendError(f"malformed event from {self.url}: {exc}") from exc
        return timer.result(
            n_tokens=n_tokens if n_tokens is not None else chunks,
            finish_reason=finish,
            model=self.model_name,
        )

    def _from_json(self, body: bytes, timer: StreamTimer) -> GenerationResult:
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"unexpected reply from {self.url}: {exc!r}") from exc
        timer.push(text)
        usage = data.get("usage") or {}
        return timer.result(
            n_tokens=usage.get("completion_tokens"),
            finish_reason=choice.get("finish_reason") or "",
            model=self.model_name,
        )
