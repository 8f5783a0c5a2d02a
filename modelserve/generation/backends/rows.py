"""What every local engine (transformers, CTranslate2) does per candidate row: the
prompt ids cut to fit the context, streaming decode with stop strings, and when a row ends.
"""

from __future__ import annotations

from typing import Any

from modelserve.generation.backends.base import (
    BackendConfigError,
    BatchRow,
    StreamTimer,
    soft_stop_at,
    truncate_left,
    with_system_prompt,
)


class RowDecoder:
    """One row's text as token ids arrive, with stop strings and streaming.

    Decoding the whole generated tail each step (not token by token) keeps multi-byte
    characters and merged word pieces right; a tail ending in U+FFFD is an incomplete
    UTF-8 sequence, so we wait for the next token before emitting it.
    """

    def __init__(self, tokenizer: Any, timer: StreamTimer, stop: tuple[str, ...]):
        self.tokenizer = tokenizer
        self.timer = timer
        self.stop = stop
        self.ids: list[int] = []
        self.emitted = ""
        self.stopped = False

    def add(self, token_id: int) -> None:
        if self.stopped:
            return
        self.ids.append(int(token_id))
        self.flush(final=False)

    def flush(self, *, final: bool) -> None:
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


def context_notice(limit: int, dropped: int) -> str:
    return (
        f"The conversation was longer than the model's context of {limit} tokens: its "
        f"oldest {dropped} tokens were left out."
    )


def prepare_prompt(tokenizer: Any, row: BatchRow, context: int) -> tuple[list[int], str]:
    """Prompt ids for one row, cut from the left to leave room for the reply."""
    history = with_system_prompt(row.messages, row.params.system_prompt)
    try:
        encoded = tokenizer.apply_chat_template(
            history, add_generation_prompt=True, return_dict=True
        )
    except Exception as exc:  # a tokenizer without a chat template, bad roles...
        raise BackendConfigError(f"cannot apply the chat template: {exc}") from exc
    ids = [int(t) for t in encoded["input_ids"]]
    room = max(16, context - row.params.max_new_tokens)
    ids, dropped = truncate_left(ids, room)
    return ids, (context_notice(context, dropped) if dropped else "")


class RowState:
    """One candidate being decoded: its sampling params, text, token count and ending.
    Engines feed it token ids (``take``); it decides when the row is finished."""

    def __init__(self, tokenizer: Any, row: BatchRow):
        self.params = row.params
        self.timer = StreamTimer(row.on_text)
        self.decoder = RowDecoder(tokenizer, self.timer, row.params.stop)
        self.finish = ""
        self.n_new = 0
        self._on_end = row.on_end

    def _end(self, reason: str) -> None:
        self.finish = reason
        self.decoder.flush(final=True)
        if self._on_end is not None:
            self._on_end(self.decoder.emitted)

    def take(self, token: int, eos: set[int], now: float) -> None:
        """Record one sampled token and decide whether this row is finished."""
        if token in eos:
            self._end("stop")
            return
        self.n_new += 1
        self.decoder.add(token)
        p = self.params
        if self.decoder.stopped or soft_stop_at(self.decoder.emitted, self.n_new, p.max_new_tokens):
            self._end("stop")
        elif self.n_new >= p.max_new_tokens or now - self.timer.started > p.timeout_s:
            self._end("length")
