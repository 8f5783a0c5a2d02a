"""Per-item features for routing items between human annotators and an AI judge.

HyPER (Miranda et al., ACL 2025, "Hybrid Preferences") routes each item to humans or to
an AI annotator with a model that predicts, from features of the item, what a human
label would add. The features here are the issue's list, one row per item:

| column | meaning |
|---|---|
| ``log_prompt_length`` | log(1 + characters of the prompt) |
| ``length_difference`` | abs(log(1 + len A) - log(1 + len B)): relative length gap |
| ``lexical_similarity`` | Jaccard similarity of the two responses' word sets, [0, 1] |
| ``judge_confidence`` | the judge's confidence in its verdict, [0, 1] (caller's measure) |
| ``swap_consistent`` | 1 if the judge gave the same verdict in both orders, else 0 |
| ``reward_margin`` | abs(reward model score A - score B) |
| ``reward_uncertainty`` | the reward model's uncertainty about the pair (caller's measure) |
| ``lang=<code>`` | one-hot of the prompt's language |
| ``missing=<column>`` | 1 where that column was unknown (only for columns with gaps) |

Unknown values are NaN; the gain model fills them with the training mean, and the
``missing=`` indicators let it learn that "unknown" means something (no reward model yet,
a rating item without a swap). Build the matrix for all items of a campaign at once so
training and prediction rows have the same columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_WORD = re.compile(r"\w+", re.UNICODE)
NUMERIC = (
    "log_prompt_length",
    "length_difference",
    "lexical_similarity",
    "judge_confidence",
    "swap_consistent",
    "reward_margin",
    "reward_uncertainty",
)


def lexical_similarity(a: str, b: str) -> float:
    """Jaccard similarity |W_a & W_b| / |W_a | W_b| of lower-cased word sets (1 if both empty)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


@dataclass(frozen=True)
class ItemSignals:
    """Raw per-item signals; NaN where unknown."""

    prompt_length: FloatArray  # characters
    length_a: FloatArray  # characters of the first response
    length_b: FloatArray
    similarity: FloatArray
    judge_confidence: FloatArray
    swap_consistent: FloatArray
    reward_margin: FloatArray  # signed or not: its absolute value is used
    reward_uncertainty: FloatArray
    language: IntArray  # code into the language list, -1 unknown


def item_signals(
    prompts: Sequence[str],
    responses_a: Sequence[str],
    responses_b: Sequence[str],
    *,
    judge_confidence: npt.ArrayLike | None = None,
    swap_consistent: npt.ArrayLike | None = None,
    reward_margin: npt.ArrayLike | None = None,
    reward_uncertainty: npt.ArrayLike | None = None,
    language: npt.ArrayLike | None = None,
) -> ItemSignals:
    """Signals from texts plus the model-derived arrays (omitted ones are all unknown)."""
    n = len(prompts)
    if len(responses_a) != n or len(responses_b) != n:
        raise ValueError("prompts, responses_a and responses_b must have one length")

    def arr(x: npt.ArrayLike | None) -> FloatArray:
        if x is None:
            return np.full(n, np.nan)
        out = np.asarray(x, dtype=np.float64).ravel()
        if len(out) != n:
            raise ValueError("every signal needs one value per item")
        return out

    return ItemSignals(
        prompt_length=np.array([len(p) for p in prompts], dtype=np.float64),
        length_a=np.array([len(r) for r in responses_a], dtype=np.float64),
        length_b=np.array([len(r) for r in responses_b], dtype=np.float64),
        similarity=np.array(
            [lexical_similarity(a, b) for a, b in zip(responses_a, responses_b, strict=True)]
        ),
        judge_confidence=arr(judge_confidence),
        swap_consistent=arr(swap_consistent),
        reward_margin=arr(reward_margin),
        reward_uncertainty=arr(reward_uncertainty),
        language=np.full(n, -1, dtype=np.int64)
        if language is None
        else np.asarray(language, dtype=np.int64).ravel(),
    )


def feature_matrix(signals: ItemSignals, languages: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """(n_items, n_features) matrix with NaN for unknowns, and the column names."""
    s = signals
    cols = [
        np.log1p(s.prompt_length),
        np.abs(np.log1p(s.length_a) - np.log1p(s.length_b)),
        s.similarity,
        s.judge_confidence,
        s.swap_consistent,
        np.abs(s.reward_margin),
        s.reward_uncertainty,
    ]
    names = list(NUMERIC)
    for name, col in zip(NUMERIC, list(cols), strict=True):
        gaps = np.isnan(col)
        if gaps.any():
            cols.append(gaps.astype(np.float64))
            names.append(f"missing={name}")
    for code, lang in enumerate(languages):
        cols.append((s.language == code).astype(np.float64))
        names.append(f"lang={lang}")
    return np.column_stack(cols).astype(np.float64), names
