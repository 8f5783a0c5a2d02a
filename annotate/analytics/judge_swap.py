"""Position bias of pairwise judges: every pair is judged in both orders.

Verdicts are categories in the *canonical* orientation of the pair (0 = the first
canonical response better, 1 = tie, 2 = the second better; -1 = no parsable answer), so
order 1 shows the canonical first response as A, order 2 shows it as B, and a judge
without position bias gives the same category in both orders.

- Swap consistency = share of pairs, among those with both verdicts parsed, whose two
  verdicts are equal. Interval: percentile bootstrap resampling pairs (the judge is
  fixed; pairs are the independent draws).
- First-position rate = share of decisive verdicts (not ties) that chose the response
  shown first: in order 1 category 0, in order 2 category 2. Since every pair is shown
  both ways, the responses' quality cancels: an unbiased judge has an expected rate of
  1/2, and the excess over 1/2 measures position bias.
- Aggregation of the two verdicts into the label that counts (``aggregate_verdicts``):
  a consistent pair gives its verdict under every policy; an inconsistent one gives
  "drop": no label (the default: only consistent verdicts count), "tie": a tie, "first":
  the verdict of the order asked first. A pair with one unparsable answer is
  incomplete: "first" keeps the first order's verdict when that one parsed, the other
  policies drop it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .agreement import percentile_interval
from .resample import unit_weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Policy = Literal["drop", "tie", "first"]
POLICIES: tuple[Policy, ...] = ("drop", "tie", "first")
FIRST, TIE, SECOND, MISSING = 0, 1, 2, -1


def to_canonical(answer: npt.ArrayLike, first_shown_is_canonical_first: npt.ArrayLike) -> IntArray:
    """Answers as shown (0 = A, 1 = tie, 2 = B, -1 = unparsed) to canonical categories."""
    a = np.asarray(answer, dtype=np.int64).ravel()
    same = np.asarray(first_shown_is_canonical_first, dtype=bool).ravel()
    flipped = np.where(a >= 0, 2 - a, MISSING)
    return np.where(same, a, flipped).astype(np.int64)


def swap_status(v1: npt.ArrayLike, v2: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Per pair: "consistent", "inconsistent" or "incomplete" (an answer did not parse)."""
    a, b = np.asarray(v1, dtype=np.int64), np.asarray(v2, dtype=np.int64)
    both = (a >= 0) & (b >= 0)
    return np.where(~both, "incomplete", np.where(a == b, "consistent", "inconsistent"))


def aggregate_verdicts(v1: npt.ArrayLike, v2: npt.ArrayLike, policy: Policy = "drop") -> IntArray:
    """The verdict that counts per pair (category, or -1 = no label); see the docstring."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    a, b = np.asarray(v1, dtype=np.int64), np.asarray(v2, dtype=np.int64)
    both = (a >= 0) & (b >= 0)
    out = np.where(both & (a == b), a, MISSING)
    inconsistent = both & (a != b)
    if policy == "tie":
        out = np.where(inconsistent, TIE, out)
    elif policy == "first":
        out = np.where(inconsistent | (~both & (a >= 0)), a, out)
    return out.astype(np.int64)


def swap_consistency(
    v1: npt.ArrayLike, v2: npt.ArrayLike, *, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Swap consistency and first-position rate, with intervals resampling pairs.

    Keys: ``n_pairs``, ``n_complete`` (both answers parsed), ``n_consistent``,
    ``n_inconsistent``, ``n_incomplete``, ``rate`` and ``first_position_rate`` (figures
    ``{value, ci}``).
    """
    a, b = np.asarray(v1, dtype=np.int64).ravel(), np.asarray(v2, dtype=np.int64).ravel()
    both = (a >= 0) & (b >= 0)
    same = (a == b)[both].astype(np.float64)
    # First-position picks per pair (out of its decisive verdicts): order 1 shows the
    # canonical first as A (category 0), order 2 shows the canonical second as A (2).
    picks = (a == FIRST).astype(np.float64) + (b == SECOND)
    decisive = ((a == FIRST) | (a == SECOND)).astype(np.float64) + ((b == FIRST) | (b == SECOND))
    out: dict[str, Any] = {
        "n_pairs": len(a),
        "n_complete": int(both.sum()),
        "n_consistent": int(same.sum()),
        "n_inconsistent": int(len(same) - same.sum()),
        "n_incomplete": int((~both).sum()),
    }
    rng = np.random.default_rng(seed)
    rate = float(same.mean()) if len(same) else float("nan")
    w = unit_weights(rng, len(same), n_boot) if n_boot > 0 and len(same) else None
    out["rate"] = _fig(rate, None if w is None else (w @ same) / len(same))
    n_dec = decisive.sum()
    first = float(picks.sum() / n_dec) if n_dec else float("nan")
    wp = unit_weights(rng, len(a), n_boot) if n_boot > 0 and n_dec else None
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = None if wp is None else (wp @ picks) / (wp @ decisive)
    out["first_position_rate"] = _fig(first, boots)
    return out


def _fig(value: float, boots: FloatArray | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": round(value, 6) if np.isfinite(value) else None}
    if boots is not None:
        out["ci"] = [None if x is None else round(x, 6) for x in percentile_interval(boots)]
    return out
