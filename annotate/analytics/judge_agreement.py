"""Agreement between an AI judge and human annotators, with bootstrap intervals.

Data (long format): one entry per human label on an item the judge also labelled:
``item``, ``annotator`` (the human), ``human`` and ``judge`` categories 0..K-1 on one
scale (pairwise: 0 = first canonical response better, 1 = tie, 2 = second better;
rating: value - low). The judge's label of an item is repeated on each human label of it.

Measures (all from the K x K confusion matrix C, rows = judge, columns = human, n = sum C):
- percent agreement p_o = trace(C) / n;
- Cohen's kappa (Cohen 1960) = (p_o - p_e) / (1 - p_e), p_e = sum_k r_k c_k / n^2 with r, c
  the row and column sums; pooled over every (judge, human) label pair;
- quadratic-weighted kappa (ratings): 1 - sum w_ij C_ij / sum w_ij r_i c_j / n,
  w_ij = ((i - j) / (K - 1))^2;
- accuracy against the human majority: per item, the plurality human category (items
  whose plurality is tied have no majority and are left out) vs the judge's label.

Intervals are percentile bootstraps whose unit is chosen per figure (``unit``):
- "item": items are resampled (every label of an item shares the judge's one label and
  the item's difficulty). For figures over items (overall, per language, per task type).
- "annotator": annotators are resampled; the expanded percentile interval for the
  number of annotators (``resample.expanded_percentile_interval``).
- "both": items and annotators are resampled independently and a label is weighted by
  the product of the two multiplicities (the "pigeonhole" bootstrap, Owen 2007); for
  figures about an annotator population (per profile group), where a handful of
  annotators carries the group's figure. Owen shows it is conservative (it counts the
  label-level noise twice); in simulation (tests/annotate/analytics/test_judge_agreement.py)
  it covered 94-100% where resampling items alone covered 50-80% once annotators differ
  in accuracy, and resampling annotators alone missed item-level sharing (88% with 8
  annotators). Plain percentile interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .agreement import percentile_interval
from .resample import expanded_percentile_interval, unit_weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Unit = Literal["item", "annotator", "both"]
Weighting = Literal["none", "quadratic"]
# Labels resampled at once in the two-way bootstrap: bounds memory at ~8 MB per chunk.
_CHUNK = 1_000_000


@dataclass(frozen=True)
class JudgeHumanLabels:
    item: IntArray
    annotator: IntArray
    human: IntArray
    judge: IntArray

    def subset(self, mask: npt.NDArray[np.bool_]) -> JudgeHumanLabels:
        return JudgeHumanLabels(
            self.item[mask], self.annotator[mask], self.human[mask], self.judge[mask]
        )


def judge_human_labels(
    item: npt.ArrayLike, annotator: npt.ArrayLike, human: npt.ArrayLike, judge: npt.ArrayLike
) -> JudgeHumanLabels:
    """Validated arrays; entries with a negative (missing) category on either side dropped."""
    arrs = [np.asarray(x, dtype=np.int64).ravel() for x in (item, annotator, human, judge)]
    if len({len(a) for a in arrs}) != 1:
        raise ValueError("item, annotator, human and judge must have one length")
    ok = (arrs[2] >= 0) & (arrs[3] >= 0)
    return JudgeHumanLabels(*(a[ok] for a in arrs))


def confusion(judge: npt.ArrayLike, human: npt.ArrayLike, k: int) -> IntArray:
    """K x K counts, rows = judge category, columns = human category."""
    j = np.asarray(judge, dtype=np.int64).ravel()
    h = np.asarray(human, dtype=np.int64).ravel()
    return np.bincount(j * k + h, minlength=k * k).reshape(k, k).astype(np.int64)


def kappa_from_confusion(conf: npt.ArrayLike, weighting: Weighting = "none") -> FloatArray:
    """Cohen's kappa of (..., K, K) confusion matrices (NaN where undefined)."""
    c = np.asarray(conf, dtype=np.float64)
    k = c.shape[-1]
    n = c.sum(axis=(-2, -1))
    rows, cols = c.sum(axis=-1), c.sum(axis=-2)
    if weighting == "quadratic":
        idx = np.arange(k, dtype=np.float64)
        w = ((idx[:, None] - idx[None, :]) / max(k - 1, 1)) ** 2
    else:
        w = 1.0 - np.eye(k)
    observed = (c * w).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.einsum("...i,ij,...j->...", rows, w, cols) / n
        return np.asarray(
            np.where(expected > 0, 1.0 - observed / expected, np.nan), dtype=np.float64
        )


def agreement_from_confusion(conf: npt.ArrayLike) -> FloatArray:
    c = np.asarray(conf, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.trace(c, axis1=-2, axis2=-1) / c.sum(axis=(-2, -1)), dtype=np.float64)


def human_majority(item: npt.ArrayLike, human: npt.ArrayLike, k: int) -> tuple[IntArray, IntArray]:
    """(item ids, plurality category per item; -1 where the plurality is tied)."""
    it = np.asarray(item, dtype=np.int64).ravel()
    h = np.asarray(human, dtype=np.int64).ravel()
    ids, inv = np.unique(it, return_inverse=True)
    votes = np.bincount(inv * k + h, minlength=len(ids) * k).reshape(len(ids), k)
    top = votes.max(axis=1)
    tied = (votes == top[:, None]).sum(axis=1) > 1
    return ids, np.where(tied, -1, votes.argmax(axis=1)).astype(np.int64)


def _boot_confusions(
    labels: JudgeHumanLabels, k: int, unit: Unit, n_boot: int, seed: int
) -> FloatArray:
    """(n_boot, K, K) confusion matrices of resampled data."""
    rng = np.random.default_rng(seed)
    cell = labels.judge * k + labels.human
    if unit in ("item", "annotator"):
        key = labels.item if unit == "item" else labels.annotator
        _, code = np.unique(key, return_inverse=True)
        n_units = int(code.max()) + 1
        per_unit = np.bincount(code * k * k + cell, minlength=n_units * k * k)
        w = unit_weights(rng, n_units, n_boot)
        return (w @ per_unit.reshape(n_units, k * k)).reshape(n_boot, k, k)
    _, icode = np.unique(labels.item, return_inverse=True)
    _, acode = np.unique(labels.annotator, return_inverse=True)
    wi = unit_weights(rng, int(icode.max()) + 1, n_boot)
    wa = unit_weights(rng, int(acode.max()) + 1, n_boot)
    onehot = sparse.csr_matrix(
        (np.ones(len(cell)), (np.arange(len(cell)), cell)), shape=(len(cell), k * k)
    )
    out = np.zeros((n_boot, k * k))
    step = max(1, _CHUNK // max(len(cell), 1))
    for b0 in range(0, n_boot, step):
        w = wi[b0 : b0 + step][:, icode] * wa[b0 : b0 + step][:, acode]  # (b, L)
        out[b0 : b0 + step] = (onehot.T @ w.T).T
    return out.reshape(n_boot, k, k)


def _figure(value: float, boots: FloatArray | None, n_units: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _num(value)}
    if boots is not None:
        ci = (
            percentile_interval(boots)
            if n_units is None
            else expanded_percentile_interval(boots, n_units)
        )
        out["ci"] = [_num(x) for x in ci]
    return out


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, 6) if np.isfinite(x) else None


def judge_agreement(
    labels: JudgeHumanLabels,
    k: int,
    *,
    weighting: Weighting = "none",
    unit: Unit = "item",
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Kappa, percent agreement, confusion and accuracy against the human majority.

    Keys: ``n_labels``, ``n_items``, ``n_annotators``, ``kappa`` (figure; quadratic-
    weighted when ``weighting="quadratic"``), ``percent_agreement`` (figure),
    ``majority_accuracy`` (figure with ``n`` items that have a majority), ``confusion``
    (rows judge, columns human), ``unit`` (what the intervals resample).
    """
    conf = confusion(labels.judge, labels.human, k)
    n_items = len(np.unique(labels.item))
    n_ann = len(np.unique(labels.annotator))
    out: dict[str, Any] = {
        "n_labels": int(conf.sum()),
        "n_items": n_items,
        "n_annotators": n_ann,
        "unit": unit,
        "weighting": weighting,
        "confusion": conf.tolist(),
    }
    boots = None
    if n_boot > 0 and len(labels.item):
        boots = _boot_confusions(labels, k, unit, n_boot, seed)
    n_units = n_ann if unit == "annotator" else None
    out["kappa"] = _figure(
        float(kappa_from_confusion(conf, weighting)),
        None if boots is None else kappa_from_confusion(boots, weighting),
        n_units,
    )
    out["percent_agreement"] = _figure(
        float(agreement_from_confusion(conf)),
        None if boots is None else agreement_from_confusion(boots),
        n_units,
    )
    out["majority_accuracy"] = majority_accuracy(labels, k, n_boot=n_boot, seed=seed)
    return out


def majority_accuracy(
    labels: JudgeHumanLabels, k: int, *, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Share of items (with a human majority) where the judge's label is the majority's;
    interval resampling items."""
    ids, major = human_majority(labels.item, labels.human, k)
    judge_of = np.zeros(len(ids), dtype=np.int64)
    judge_of[np.searchsorted(ids, labels.item)] = labels.judge
    has = major >= 0
    hit = (judge_of[has] == major[has]).astype(np.float64)
    boots = None
    if n_boot > 0 and len(hit):
        w = unit_weights(np.random.default_rng(seed), len(hit), n_boot)
        boots = (w @ hit) / len(hit)
    fig = _figure(float(hit.mean()) if len(hit) else float("nan"), boots, None)
    fig["n"] = int(has.sum())
    return fig


def agreement_by_group(
    labels: JudgeHumanLabels,
    k: int,
    group: npt.ArrayLike,
    names: list[str],
    *,
    unit: Unit,
    weighting: Weighting = "none",
    n_boot: int = 200,
    seed: int = 0,
    min_labels: int = 1,
) -> list[dict[str, Any]]:
    """``judge_agreement`` per group code (one code per label; -1 = unknown, left out).

    Group by an annotator attribute (a profile field: the label's group is its human's)
    with ``unit="both"``; by an item attribute (language, task type) with ``unit="item"``.
    """
    g = np.asarray(group, dtype=np.int64).ravel()
    rows = []
    for code in np.unique(g[g >= 0]):
        sel = g == code
        if sel.sum() < min_labels:
            continue
        block = judge_agreement(
            labels.subset(sel), k, weighting=weighting, unit=unit, n_boot=n_boot, seed=seed
        )
        rows.append({"group": names[int(code)]} | block)
    return rows


@dataclass(frozen=True)
class Breakdown:
    """Group codes per label (-1 unknown), their names, and the bootstrap unit."""

    codes: npt.ArrayLike
    names: list[str]
    unit: Unit


def judge_agreement_breakdowns(
    labels: JudgeHumanLabels,
    k: int,
    breakdowns: dict[str, Breakdown],
    *,
    weighting: Weighting = "none",
    n_boot: int = 200,
    seed: int = 0,
    min_labels: int = 1,
) -> dict[str, Any]:
    """``{"overall": judge_agreement(...), <breakdown name>: [rows per group]}``.

    One scale per call: categories of different task types (A/tie/B against a 1-7
    rating) are not comparable, so a per-task-type table calls this once per task type;
    language and profile fields are breakdowns within one call. Overall figures resample
    items; each breakdown resamples its own unit (``Breakdown.unit``).
    """
    out: dict[str, Any] = {
        "overall": judge_agreement(labels, k, weighting=weighting, n_boot=n_boot, seed=seed)
    }
    for name, bd in breakdowns.items():
        out[name] = agreement_by_group(
            labels,
            k,
            bd.codes,
            bd.names,
            unit=bd.unit,
            weighting=weighting,
            n_boot=n_boot,
            seed=seed,
            min_labels=min_labels,
        )
    return out
