"""Best-worst scaling: counting scores with bootstrap intervals, and Bradley-Terry.

A best-worst label shows K responses and names the best and the worst. Two estimates of
each unit's (a model's, or a response's) standing come from the same labels:

- The counting score (Louviere, Flynn and Marley 2015, ch. 2):
  ``(times best - times worst) / times shown``, in [-1, 1]. Its 95% interval resamples
  whole labels (the K appearances of one label share the label's draw), with the
  expanded percentile interval of ``resample.py``.
- Bradley-Terry on the pairs a label implies: the best beat each of the K - 1 others,
  and each of the K - 2 others in the middle beat the worst (2K - 3 pairs; best over
  worst is counted once). The fit is ``bradley_terry.py``'s, with each label a cluster.

Input: one entry per shown response of a best-worst label (``label`` the label's index,
``unit`` the model or response code, ``value`` +1 best, -1 worst, 0 neither). Pure numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .bradley_terry import bradley_terry, leaderboard
from .resample import expanded_percentile_interval, unit_weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _dense(codes: IntArray) -> tuple[IntArray, int]:
    uniq, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.int64), len(uniq)


def counting_scores(
    label: npt.ArrayLike,
    unit: npt.ArrayLike,
    value: npt.ArrayLike,
    n_units: int,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Best, worst and shown counts per unit, the score and its interval per unit.

    Returns arrays of length ``n_units`` (a unit never shown has score NaN).
    """
    lab = np.asarray(label, dtype=np.int64)
    u = np.asarray(unit, dtype=np.int64)
    v = np.asarray(value, dtype=np.int64)
    best = np.bincount(u, weights=(v == 1), minlength=n_units)
    worst = np.bincount(u, weights=(v == -1), minlength=n_units)
    shown = np.bincount(u, minlength=n_units).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (best - worst) / shown
    low = np.full(n_units, np.nan)
    high = np.full(n_units, np.nan)
    if len(lab):
        cluster, n_clusters = _dense(lab)
        # (entries x units) indicator; a resample weighs every entry by its label's draw.
        onehot = sparse.csr_matrix(
            (np.ones(len(u)), (np.arange(len(u)), u)), shape=(len(u), n_units)
        )
        weights = unit_weights(np.random.default_rng(seed), n_clusters, n_boot)[:, cluster]
        shown_b = np.asarray((onehot.T @ weights.T).T)
        net_b = np.asarray((onehot.T @ (weights * v).T).T)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = net_b / shown_b
        for i in range(n_units):
            if shown[i] > 0:
                lo, hi = expanded_percentile_interval(boot[:, i], n_clusters)
                low[i] = np.nan if lo is None else lo
                high[i] = np.nan if hi is None else hi
    return {
        "best": best,
        "worst": worst,
        "shown": shown,
        "score": score,
        "ci_low": low,
        "ci_high": high,
    }


def implied_pairs(
    label: npt.ArrayLike, unit: npt.ArrayLike, value: npt.ArrayLike
) -> tuple[IntArray, IntArray, IntArray]:
    """(winner, loser, label) of the 2K - 3 pairs each best-worst label implies."""
    lab = np.asarray(label, dtype=np.int64)
    u = np.asarray(unit, dtype=np.int64)
    v = np.asarray(value, dtype=np.int64)
    if len(lab) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.argsort(lab, kind="stable")
    lab, u, v = lab[order], u[order], v[order]
    winners: list[IntArray] = []
    losers: list[IntArray] = []
    labels: list[IntArray] = []
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:], len(lab)]
    for s, e in zip(starts, ends, strict=True):
        vals, units = v[s:e], u[s:e]
        if (vals == 1).sum() != 1 or (vals == -1).sum() != 1:
            continue  # not a complete best-worst label
        b, w = units[vals == 1][0], units[vals == -1][0]
        others = units[vals != 1]  # includes the worst: best > worst once
        middle = units[vals == 0]
        winners += [np.full(len(others), b), middle]
        losers += [others, np.full(len(middle), w)]
        labels.append(np.full(len(others) + len(middle), lab[s]))
    if not labels:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (
        np.concatenate(winners).astype(np.int64),
        np.concatenate(losers).astype(np.int64),
        np.concatenate(labels).astype(np.int64),
    )


def _r(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None


def bws_section(
    label: IntArray,
    unit: IntArray,
    value: IntArray,
    names: list[str],
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """The report's ``bws`` block: counting scores and Bradley-Terry, per unit name."""
    n = len(names)
    out: dict[str, Any] = {"n_labels": len(np.unique(label)), "counting": []}
    if n == 0 or len(label) == 0:
        out["bradley_terry"] = []
        return out
    counts = counting_scores(label, unit, value, n, n_boot=n_boot, seed=seed)
    rows = []
    for i in range(n):
        if counts["shown"][i] == 0:
            continue
        rows.append(
            {
                "model": names[i],
                "score": _r(counts["score"][i]),
                "ci": [_r(counts["ci_low"][i]), _r(counts["ci_high"][i])],
                "best": int(counts["best"][i]),
                "worst": int(counts["worst"][i]),
                "shown": int(counts["shown"][i]),
            }
        )
    out["counting"] = sorted(rows, key=lambda r: -(r["score"] if r["score"] is not None else -9))
    winner, loser, cluster = implied_pairs(label, unit, value)
    keep = winner != loser  # two responses of one model: no information between models
    if n < 2 or not keep.any():
        out["bradley_terry"] = []
        return out
    fit = bradley_terry(
        winner[keep],
        loser[keep],
        np.ones(int(keep.sum())),
        n,
        n_boot=n_boot,
        seed=seed,
        cluster=cluster[keep],
    )
    out["bradley_terry"] = leaderboard(fit, names)
    out["n_pairs"] = int(keep.sum())
    return out
