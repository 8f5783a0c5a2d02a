"""Per-annotator quality figures on plain arrays (no Django).

- agreement with the leave-one-out consensus: for each label on an item that others also
  labelled, does it match the plurality of the *other* annotators' labels (a tied
  plurality counts as a match when the label is one of the tied leaders);
- mean absolute deviation of a rating from the leave-one-out mean rating;
- gold accuracy and attention-check failures (the selector decides correctness);
- median time on task;
- self-consistency: the same annotator labelling the same content twice (a repeated
  item, or a response rated twice) agrees with their first label.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .agreement import _unit_codes

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def loo_consensus_agreement(
    units: npt.ArrayLike,
    coders: npt.ArrayLike,
    categories: npt.ArrayLike,
    n_categories: int,
    n_coders: int,
) -> tuple[IntArray, IntArray]:
    """Per coder: (labels compared, labels matching the others' plurality)."""
    ucode = _unit_codes(units)
    cat = np.asarray(categories, dtype=np.int64).ravel()
    coder = np.asarray(coders, dtype=np.int64).ravel()
    if len(ucode) == 0:
        z = np.zeros(n_coders, dtype=np.int64)
        return z, z.copy()
    n_units = int(ucode.max()) + 1
    k = n_categories
    counts = np.bincount(ucode * k + cat, minlength=n_units * k).reshape(n_units, k)
    others = counts[ucode].copy()
    others[np.arange(len(cat)), cat] -= 1
    has_others = others.sum(axis=1) > 0
    top = others.max(axis=1)
    match = has_others & (others[np.arange(len(cat)), cat] == top)
    n = np.bincount(coder[has_others], minlength=n_coders)
    a = np.bincount(coder[match], minlength=n_coders)
    return n.astype(np.int64), a.astype(np.int64)


def loo_rating_deviation(
    units: npt.ArrayLike, coders: npt.ArrayLike, values: npt.ArrayLike, n_coders: int
) -> tuple[IntArray, FloatArray]:
    """Per coder: (ratings compared, mean |rating - mean of the others' ratings|)."""
    ucode = _unit_codes(units)
    val = np.asarray(values, dtype=np.float64).ravel()
    coder = np.asarray(coders, dtype=np.int64).ravel()
    if len(ucode) == 0:
        return np.zeros(n_coders, dtype=np.int64), np.full(n_coders, np.nan)
    s = np.bincount(ucode, weights=val)
    c = np.bincount(ucode)
    m_other = c[ucode] - 1
    ok = m_other > 0
    dev = np.abs(val[ok] - (s[ucode][ok] - val[ok]) / m_other[ok])
    n = np.bincount(coder[ok], minlength=n_coders)
    tot = np.bincount(coder[ok], weights=dev, minlength=n_coders)
    with np.errstate(invalid="ignore", divide="ignore"):
        mad = np.where(n > 0, tot / np.maximum(n, 1), np.nan)
    return n.astype(np.int64), mad


def median_by_group(groups: npt.ArrayLike, values: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Median of ``values`` per group code (NaN for empty groups; NaN values ignored)."""
    g = np.asarray(groups, dtype=np.int64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = ~np.isnan(v)
    g, v = g[ok], v[ok]
    out = np.full(n_groups, np.nan)
    if len(g) == 0:
        return out
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    lo = v[starts + (ends - starts - 1) // 2]
    hi = v[starts + (ends - starts) // 2]
    out[g[starts]] = (lo + hi) / 2.0
    return out


def self_consistency(
    coders: npt.ArrayLike,
    content: npt.ArrayLike,
    values: npt.ArrayLike,
    order: npt.ArrayLike,
    n_coders: int,
) -> tuple[IntArray, IntArray]:
    """Per coder: (repeat labels, repeats equal to that coder's first label of the content).

    ``content`` identifies what was judged (same item content / same response and
    attribute); ``values`` must already be oriented so equal means the same judgment.
    """
    coder = np.asarray(coders, dtype=np.int64).ravel()
    cont = np.asarray(content, dtype=np.int64).ravel()
    val = np.asarray(values, dtype=np.float64).ravel()
    o = np.asarray(order, dtype=np.float64).ravel()
    if len(coder) == 0:
        z = np.zeros(n_coders, dtype=np.int64)
        return z, z.copy()
    key = coder * (int(cont.max()) + 1) + cont
    idx = np.lexsort((np.arange(len(key)), o, key))
    k = key[idx]
    first = np.r_[True, k[1:] != k[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))
    repeat = ~first
    same = val[idx] == val[idx][group_start]
    n = np.bincount(coder[idx][repeat], minlength=n_coders)
    a = np.bincount(coder[idx][repeat & same], minlength=n_coders)
    return n.astype(np.int64), a.astype(np.int64)
