"""Cohen's kappa for every pair of annotators who share items, two exact ways.

``cohen_kappa_pairs`` needs, per coder pair, sums over the units both labelled: counts,
agreements, each coder's category counts, sums of va * vb. They are sums of small
integers, so any way of adding them gives the same floats, and two ways are used:

- from the list of label pairs that share a unit (fast; memory ~85 bytes per label pair);
- from sparse coder x unit matrix products (``A A'`` counts shared units, and so on):
  memory follows the distinct coder pairs, not the label pairs. 1M labels with 10 per
  item make 4.5M label pairs, ~380 MB as lists, ~90 MB this way, in about the same time.

The first is used up to ``PAIR_LIST_MAX`` label pairs, the second beyond when coder
pairs must repeat; when they need not (say 2,000 coders, 2.25M label pairs, 480k coder
pairs) products took twice the time of the list (1.45 s against 0.69 s) for half its
memory (104 against 255 MB), and the list is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .units import _unit_codes, unit_pairs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
PAIR_LIST_MAX = 1_000_000


@dataclass(frozen=True)
class PairKappas:
    coder_a: IntArray  # coder codes as passed in, coder_a < coder_b
    coder_b: IntArray
    n_items: IntArray
    agreement: FloatArray  # observed proportion of agreement
    kappa: FloatArray  # Cohen's kappa (NaN where chance agreement is 1)
    kappa_quadratic: FloatArray  # quadratic-weighted kappa on the category index scale


def cohen_kappa_pairs(
    units: npt.ArrayLike,
    coders: npt.ArrayLike,
    categories: npt.ArrayLike,
    n_categories: int,
    *,
    pair_list_max: int = PAIR_LIST_MAX,
) -> PairKappas:
    """Cohen's kappa (plain and quadratic-weighted) for every pair of coders who share items.

    ``categories`` are integer codes 0..K-1 on an ordered scale (the quadratic weights are
    ((i - j) / (K - 1))^2 on those codes, so a Likert scale is coded value - min). Each
    (unit, coder) must appear once. Kappa's chance term uses each coder's marginal over the
    items the two share (Cohen 1960), computed from per-pair sums so no per-pair loop runs.
    Pairs come in (coder_a, coder_b) order, coder_a < coder_b.
    """
    per_unit = np.bincount(_unit_codes(units)).astype(np.int64)
    n_label_pairs = int((per_unit * (per_unit - 1) // 2).sum())
    coder = np.asarray(coders, dtype=np.int64).ravel()
    n_coders = int(coder.max()) + 1 if len(coder) else 0
    # Products pay per distinct coder pair, the list per label pair: products only when
    # the list is long and coder pairs must repeat (at least twice on average).
    repeats = n_coders * (n_coders - 1) <= n_label_pairs
    many = n_label_pairs > pair_list_max and repeats
    way = _kappa_from_products if many else _kappa_from_label_pairs
    return way(units, coder, categories, n_categories)


def _kappa_from_label_pairs(
    units: npt.ArrayLike,
    coders: npt.ArrayLike,
    categories: npt.ArrayLike,
    n_categories: int,
) -> PairKappas:
    """The per-pair sums from the list of label pairs sharing a unit (bincounts)."""
    coder_arr = np.asarray(coders, dtype=np.int64).ravel()
    cat = np.asarray(categories, dtype=np.int64).ravel()
    i, j = unit_pairs(units)
    ca, cb = coder_arr[i], coder_arr[j]
    va, vb = cat[i], cat[j]
    swap = ca > cb
    ca, cb = np.where(swap, cb, ca), np.where(swap, ca, cb)
    va, vb = np.where(swap, vb, va), np.where(swap, va, vb)
    n_coders = int(coder_arr.max()) + 1 if len(coder_arr) else 0
    keys = ca * n_coders + cb
    pidx = _unit_codes(keys)
    uniq = np.zeros(int(pidx.max()) + 1 if len(pidx) else 0, dtype=np.int64)
    uniq[pidx] = keys
    n_pairs = len(uniq)
    k = n_categories
    n = np.bincount(pidx, minlength=n_pairs).astype(np.float64)
    agree = np.bincount(pidx, weights=(va == vb).astype(np.float64), minlength=n_pairs)
    pa = np.bincount(pidx * k + va, minlength=n_pairs * k).reshape(n_pairs, k)
    pb = np.bincount(pidx * k + vb, minlength=n_pairs * k).reshape(n_pairs, k)
    p_o = agree / n
    p_e = (pa * pb).sum(axis=1) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
        fa, fb = va.astype(np.float64), vb.astype(np.float64)
        s1a = np.bincount(pidx, weights=fa, minlength=n_pairs)
        s1b = np.bincount(pidx, weights=fb, minlength=n_pairs)
        s2a = np.bincount(pidx, weights=fa**2, minlength=n_pairs)
        s2b = np.bincount(pidx, weights=fb**2, minlength=n_pairs)
        observed = np.bincount(pidx, weights=(fa - fb) ** 2, minlength=n_pairs) / n
        # sum_ij (i - j)^2 pa_i pb_j / n^2, expanded so it needs only sums of i and i^2.
        expected = (n * s2a - 2.0 * s1a * s1b + n * s2b) / n**2
        kappa_q = np.where(expected > 0, 1.0 - observed / expected, np.nan)
    return PairKappas(
        coder_a=(uniq // n_coders).astype(np.int64) if n_coders else uniq,
        coder_b=(uniq % n_coders).astype(np.int64) if n_coders else uniq,
        n_items=n.astype(np.int64),
        agreement=p_o,
        kappa=kappa,
        kappa_quadratic=kappa_q,
    )


def _kappa_from_products(
    units: npt.ArrayLike,
    coders: npt.ArrayLike,
    categories: npt.ArrayLike,
    n_categories: int,
) -> PairKappas:
    """The per-pair sums from sparse products of coder x unit matrices: ``A A'`` (shared
    units), one-hot ``B B'`` (agreements), ``V V'`` (sums of va * vb), and ``X_v A'`` (a
    coder's count of category v over the units shared with the other), read at the pairs."""
    coder = np.asarray(coders, dtype=np.int64).ravel()
    cat = np.asarray(categories, dtype=np.int64).ravel()
    ucode = _unit_codes(units)
    k = n_categories
    n_coders = int(coder.max()) + 1 if len(coder) else 0
    n_units = int(ucode.max()) + 1 if len(ucode) else 0

    def by_coder(columns: IntArray, n_columns: int, values: FloatArray) -> sparse.csr_array:
        return sparse.csr_array((values, (coder, columns)), shape=(n_coders, n_columns))

    def by_column(columns: IntArray, n_columns: int, values: FloatArray) -> sparse.csr_array:
        # The transpose, built as CSR itself: ``m.T`` is CSC, which the product converts.
        return sparse.csr_array((values, (columns, coder)), shape=(n_columns, n_coders))

    def at(m: sparse.csr_array, r: IntArray, c: IntArray) -> FloatArray:
        m.sum_duplicates()  # sorted indices: a binary search per value, not a row scan
        return np.asarray(m[r, c], dtype=np.float64).ravel() if len(r) else np.zeros(0)

    ones = np.ones(len(coder))
    a, a_t = by_coder(ucode, n_units, ones), by_column(ucode, n_units, ones)
    shared = sparse.triu(a @ a_t, k=1).tocoo()  # shared units per pair, coder_a < coder_b
    order = np.lexsort((shared.col, shared.row))
    rows, cols = shared.row[order].astype(np.int64), shared.col[order].astype(np.int64)
    n = shared.data[order]
    del shared, order
    onehot = ucode * k + cat
    agree = at(  # shared units given the same category
        by_coder(onehot, n_units * k, ones) @ by_column(onehot, n_units * k, ones), rows, cols
    )
    del onehot
    value = cat.astype(np.float64)
    cross = at(by_coder(ucode, n_units, value) @ by_column(ucode, n_units, value), rows, cols)
    del value  # cross: sum of va * vb over shared units
    # pa[:, v]: shared units where coder_a gave v; pb[:, v]: where coder_b did.
    pa, pb = np.zeros((len(n), k)), np.zeros((len(n), k))
    for v in range(k):
        per = by_coder(ucode, n_units, (cat == v).astype(np.float64)) @ a_t
        pa[:, v], pb[:, v] = at(per, rows, cols), at(per, cols, rows)
    del a, a_t
    p_o = agree / n
    p_e = (pa * pb).sum(axis=1) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
        scale = np.arange(k, dtype=np.float64)
        s1a, s1b = pa @ scale, pb @ scale
        s2a, s2b = pa @ scale**2, pb @ scale**2
        observed = (s2a + s2b - 2.0 * cross) / n  # mean (va - vb)^2
        # sum_ij (i - j)^2 pa_i pb_j / n^2, expanded so it needs only sums of i and i^2.
        expected = (n * s2a - 2.0 * s1a * s1b + n * s2b) / n**2
        kappa_q = np.where(expected > 0, 1.0 - observed / expected, np.nan)
    return PairKappas(
        coder_a=rows,
        coder_b=cols,
        n_items=n.astype(np.int64),
        agreement=p_o,
        kappa=kappa,
        kappa_quadratic=kappa_q,
    )
