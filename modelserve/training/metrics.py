"""How a pairwise scorer is graded: accuracy and expected calibration error (ECE).

Both grade the same per-pair correctness, so they agree on every pair:

    correct(m) = 1 if m > 0, 1/2 if m = 0, 0 if m < 0

where m is the margin score(preferred) - score(other), oriented so that m > 0 means the
scorer agrees with the label. A zero margin is no prediction at all: it is scored as the
coin flip it amounts to (1/2), never as right or wrong. Before this, accuracy counted a
zero margin as wrong (``diff > 0``) while ECE counted it as right (``p >= 0.5``), so a
model that scored many pairs equal looked worse on one and better on the other; a model
initialised to score everything equal (a DPO policy equal to its reference) now has
accuracy 1/2, not 0.

ECE (Guo et al., 2017), binary form: the predicted probability that the label is right is
sigmoid(|m|) (confidence, in [1/2, 1)); pairs are binned by confidence into ``n_bins``
equal bins over [1/2, 1] and ECE = sum_b |B_b| / n * |mean correct_b - mean confidence_b|.
A zero margin has confidence 1/2 and correctness 1/2, so a scorer that knows it does not
know adds nothing to ECE.

Numpy on CPU; torch tensors are accepted (moved to CPU). No Django.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _as_numpy(x: Any) -> FloatArray:
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU
        x = x.detach().double().cpu().numpy()
    return np.asarray(x, dtype=np.float64).ravel()


def margin_correct(margins: Any, outcomes: Any | None = None) -> FloatArray:
    """Per pair: 1, 1/2 or 0 (see the module docstring).

    ``margins`` = score(first) - score(second); ``outcomes`` 1 where the first was
    preferred, 0 where the second was (default: the first always, as in (chosen,
    rejected) pairs).
    """
    m = _as_numpy(margins)
    if outcomes is not None:
        y = _as_numpy(outcomes)
        m = np.where(y > 0.5, m, -m)
    return np.where(m > 0, 1.0, np.where(m < 0, 0.0, 0.5))


def pairwise_accuracy(margins: Any, outcomes: Any | None = None) -> float | None:
    """Mean of ``margin_correct``; None with no pairs (undefined, and JSON-storable)."""
    c = margin_correct(margins, outcomes)
    return float(c.mean()) if len(c) else None


def pairwise_accuracy_on_device(margins: Any) -> Any:
    """``pairwise_accuracy`` of a non-empty torch tensor, as a 0-d tensor where the margins
    are: a training step reads it later, with other statistics, instead of waiting for
    the device on every step (modelserve.training.dpo)."""
    return ((margins > 0).float() + 0.5 * (margins == 0).float()).mean()


def calibration_error(margins: Any, outcomes: Any | None = None, n_bins: int = 10) -> float:
    """ECE of P(label right) = sigmoid(|margin|), graded by ``margin_correct``."""
    m = _as_numpy(margins)
    return binned_ece(1.0 / (1.0 + np.exp(-np.abs(m))), margin_correct(m, outcomes), n_bins)


def binned_ece(confidence: Any, correct: Any, n_bins: int = 10) -> float:
    """sum_b |B_b| / n * |mean correct_b - mean confidence_b| over equal bins of [1/2, 1]."""
    conf, ok = _as_numpy(confidence), _as_numpy(correct)
    n = len(conf)
    if n == 0:
        return 0.0
    # Bin b covers [1/2 + b w, 1/2 + (b + 1) w) with w = 1 / (2 n_bins); the last is closed.
    b = np.clip(((conf - 0.5) * 2.0 * n_bins).astype(np.int64), 0, n_bins - 1)
    gap = np.bincount(b, weights=ok, minlength=n_bins) - np.bincount(
        b, weights=conf, minlength=n_bins
    )
    return float(np.abs(gap).sum() / n)
