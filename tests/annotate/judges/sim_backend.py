"""A simulated judge for tests: answers from the truth hidden in the response texts.

Every response text carries its quality as ``[q=0.83]``. ``ModelEndpoint.model`` sets the
judge's behaviour: ``"sim:err=0.1:bias=0.2:junk=0.05"``: per call, with probability
``junk`` it writes something unparsable; else with probability ``bias`` it answers "A"
whatever is shown (position bias); else it is wrong with probability ``err`` and right
otherwise. Draws are a hash of the question, so runs are reproducible and the two orders
of a pair are independent draws.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from modelserve.generation.backends.base import (
    BatchByLoop,
    GenerationResult,
    Message,
    OnText,
    SamplingParams,
)

_Q = re.compile(r"\[q=([0-9.]+)\]")


def _u(text: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}|{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SimJudgeBackend(BatchByLoop):
    def __init__(self, model: str = "sim", **_ignored: Any):
        self.opts = {"err": 0.0, "bias": 0.0, "junk": 0.0}
        for part in model.split(":")[1:]:
            key, _, value = part.partition("=")
            self.opts[key] = float(value)

    def generate(
        self, messages: Sequence[Message], params: SamplingParams, on_text: OnText | None = None
    ) -> GenerationResult:
        text = str(messages[-1]["content"])
        qs = [float(x) for x in _Q.findall(text)]
        n = max(text.count("[Response "), 1)
        if len(qs) < n:  # texts without a quality marker: a quality from the text's hash
            qs = [_u(text, f"q{i}") for i in range(n)]
        answer = self._answer(text, qs)
        if on_text is not None:
            on_text(answer)
        return GenerationResult(text=answer, n_tokens=3, latency_ms=5, finish_reason="stop")

    def _answer(self, text: str, qs: list[float]) -> str:
        if _u(text, "junk") < self.opts["junk"]:
            return "I cannot decide, sorry."
        wrong = _u(text, "err") < self.opts["err"]
        if "[Response A]" in text:
            if _u(text, "bias") < self.opts["bias"]:
                return "[[A]]"
            better_a = qs[0] > qs[1]
            return "[[A]]" if better_a != wrong else "[[B]]"
        if "[Response 1]" in text:
            order = sorted(range(1, len(qs) + 1), key=lambda i: -qs[i - 1])
            if wrong:
                order[0], order[1] = order[1], order[0]
            return "[[" + ", ".join(map(str, order)) + "]]"
        high = int(re.search(r"to (\d+) \(excellent\)", text).group(1))  # type: ignore[union-attr]
        value = 1 + round(qs[0] * (high - 1))
        if wrong:
            value = min(high, value + 1)
        return f"[[{value}]]"
