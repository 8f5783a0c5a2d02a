"""Parse a judge's ranking answer ("[[2, 1, 3]]": response numbers, best first); total.

The companion of ``judge_parse`` for ranking items, with the same statuses. A ranking
must name every response number 1..n exactly once: a partial or repeated ordering is
``out_of_range`` (what was given is not an ordering of these n responses), two different
bracketed orderings are ``ambiguous``. Ties are not asked of judges. Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .judge_parse import MAX_CHARS, Status


@dataclass(frozen=True)
class RankingParsed:
    status: Status
    answer: list[int] | None = None  # response numbers 1..n, best first

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_BRACKETED = re.compile(r"\[\[\s*([0-9][0-9\s,;>]*)\]\]")
_LIST = re.compile(r"(?<![\d.])\d+(?:\s*(?:,|;|>)\s*\d+)+")


def _numbers(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def parse_ranking(text: object, *, n: int) -> RankingParsed:
    """The ordering (1-based response numbers, best first) in ``text``; never raises."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            return RankingParsed("unparsable")
        text = text[:MAX_CHARS]
        if not text.strip():
            return RankingParsed("empty")
        found = [m.group(1) for m in _BRACKETED.finditer(text)] or [
            m.group(0) for m in _LIST.finditer(text)
        ]
        orders = {tuple(_numbers(f)) for f in found}
        if not orders:
            return RankingParsed("unparsable")
        if len(orders) > 1:
            return RankingParsed("ambiguous")
        (order,) = orders
        if sorted(order) != list(range(1, n + 1)):
            return RankingParsed("out_of_range", list(order))
        return RankingParsed("ok", list(order))
    except Exception:  # a parser bug must cost one label, never a judging job
        return RankingParsed("unparsable")
