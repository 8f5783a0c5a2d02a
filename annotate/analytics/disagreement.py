"""Do an item's labels disagree? The rule behind adaptive overlap, as pure functions.

An answer is the part of a label that annotators should agree on, in terms that do not
depend on the order a person was shown (payloads are normalised to response ids):

- pairwise: the chosen response id (None for a tie);
- ranking: the set of responses ranked best;
- rating: the set of best-rated responses on the overall attribute; with one response,
  whether its rating is above, at or below the middle of the scale.

Edits, critiques and conversations have no categorical answer: never "disagreeing".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

MAJORITY_SHARE = "majority_share"
ANY_DISAGREEMENT = "any_disagreement"


def answer_key(
    task_type: str,
    payload: Mapping[str, Any],
    *,
    overall_attribute: str,
    rating_range: tuple[int, int],
) -> Hashable | None:
    """The label's answer, or None when it has none to compare."""
    if task_type == "pairwise":
        return ("chosen", payload.get("chosen"))
    if task_type == "ranking":
        groups = payload.get("ranking") or []
        return frozenset(int(r) for r in groups[0]) if groups else None
    if task_type == "rating":
        values: dict[int, float] = {}
        for rid, attrs in (payload.get("ratings") or {}).items():
            value = attrs.get(overall_attribute) if isinstance(attrs, Mapping) else None
            if isinstance(value, int | float):
                values[int(rid)] = float(value)
        if not values:
            return None
        if len(values) == 1:
            middle = (rating_range[0] + rating_range[1]) / 2
            value = next(iter(values.values()))
            return ("side", (value > middle) - (value < middle))
        best = max(values.values())
        return frozenset(rid for rid, v in values.items() if v == best)
    return None


def majority_share(keys: Sequence[Hashable]) -> float:
    """Share of the answers equal to the most common one (1.0 for none or one)."""
    if len(keys) < 2:
        return 1.0
    return Counter(keys).most_common(1)[0][1] / len(keys)


def labels_disagree(keys: Sequence[Hashable | None], *, rule: str, min_agreement: float) -> bool:
    """Whether the answers call for more annotators. Labels without an answer are left
    out; fewer than two answers never disagree."""
    known = [k for k in keys if k is not None]
    if len(known) < 2:
        return False
    if rule == ANY_DISAGREEMENT:
        return len(set(known)) > 1
    if rule == MAJORITY_SHARE:
        return majority_share(known) < min_agreement
    raise ValueError(f"unknown disagreement rule {rule!r}")
