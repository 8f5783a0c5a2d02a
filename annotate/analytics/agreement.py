"""Inter-annotator agreement on plain numpy arrays (no Django).

Every function takes *long format* data: one entry per label, ``units[i]`` being the item
(or item-response) the label is about, ``coders[i]`` the annotator and ``values[i]`` the
value. Missing values are simply absent (NaN values are dropped), so sparse designs with
thousands of annotators never build a dense annotators x items matrix.

Krippendorff's alpha follows Krippendorff (2011), "Computing Krippendorff's alpha
reliability", exactly as the ``krippendorff`` package implements it (same value domain,
same ordinal metric built from the pairable value counts), so both agree to float
rounding. The coincidence matrix is one (V x N) @ (N x V) product instead of the package's
N x V x V tensor, which is what makes a million labels take milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

# Re-exported (``as``): to its callers the agreement API is one module.
from .kappa_pairs import PairKappas as PairKappas
from .kappa_pairs import cohen_kappa_pairs as cohen_kappa_pairs
from .units import _unit_codes as _unit_codes
from .units import unit_pairs as unit_pairs

Level = Literal["nominal", "ordinal", "interval", "ratio"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
T = TypeVar("T")


@dataclass(frozen=True)
class AlphaData:
    """Per-unit value counts: the sufficient statistic of alpha, reused by the bootstrap."""

    counts: FloatArray  # (N units with >= 2 values, V) value counts
    domain: FloatArray  # (V,) sorted values
    level: Level


def alpha_data(
    units: npt.ArrayLike,
    values: npt.ArrayLike,
    level: Level = "interval",
    value_domain: npt.ArrayLike | None = None,
) -> AlphaData:
    vals = np.asarray(values, dtype=np.float64).ravel()
    unit_arr = np.asarray(units).ravel()
    keep = ~np.isnan(vals)
    vals, unit_arr = vals[keep], unit_arr[keep]
    domain = np.unique(vals) if value_domain is None else np.asarray(value_domain, np.float64)
    if value_domain is not None and not np.isin(vals, domain).all():
        raise ValueError("values outside the given value domain")
    n_dom = len(domain)
    if len(vals) == 0:
        return AlphaData(np.zeros((0, max(n_dom, 1))), domain, level)
    vidx = np.searchsorted(domain, vals)
    ucode = _unit_codes(unit_arr)
    n_units = int(ucode.max()) + 1
    counts = np.bincount(ucode * n_dom + vidx, minlength=n_units * n_dom).reshape(n_units, n_dom)
    # Units with a single value are not pairable and contribute nothing.
    counts = counts[counts.sum(axis=1) >= 2].astype(np.float64)
    return AlphaData(counts, domain, level)


def _coincidences(counts: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    m = counts.sum(axis=1)
    scale = 1.0 / (m - 1.0)
    if weights is not None:
        scale = scale * weights
    scaled = counts * scale[:, None]
    o: FloatArray = scaled.T @ counts
    o -= np.diag(scaled.sum(axis=0))
    return o


def _distance_matrix(domain: FloatArray, n_v: FloatArray, level: Level) -> FloatArray:
    if level == "nominal":
        return (domain[:, None] != domain[None, :]).astype(np.float64)
    if level == "interval":
        return (domain[:, None] - domain[None, :]) ** 2
    if level == "ratio":
        total = domain[:, None] + domain[None, :]
        diff = domain[:, None] - domain[None, :]
        out = np.zeros_like(total)
        np.divide(diff, total, out=out, where=total != 0)
        return out**2
    if level == "ordinal":
        # Sum of the pairable counts from value c to value k inclusive, minus half the ends.
        cum = np.concatenate([[0.0], np.cumsum(n_v)])
        idx = np.arange(len(domain))
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cum[hi + 1] - cum[lo]
        return (between - (n_v[lo] + n_v[hi]) / 2.0) ** 2
    raise ValueError(f"unknown level of measurement {level!r}")


def _alpha_from_o(o: FloatArray, domain: FloatArray, level: Level) -> float:
    n_v = o.sum(axis=0)
    n = n_v.sum()
    if n <= 1 or len(domain) <= 1:
        return float("nan")
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n - 1.0)
    d = _distance_matrix(domain, n_v, level)
    expected = float((e * d).sum())
    if expected == 0:
        return float("nan")
    return 1.0 - float((o * d).sum()) / expected


def krippendorff_alpha(
    units: npt.ArrayLike,
    values: npt.ArrayLike,
    level: Level = "interval",
    value_domain: npt.ArrayLike | None = None,
) -> float:
    """Krippendorff's alpha; NaN when no unit has two values or all values are equal."""
    return alpha_from_data(alpha_data(units, values, level, value_domain))


def alpha_from_data(data: AlphaData) -> float:
    if len(data.counts) == 0:
        return float("nan")
    return _alpha_from_o(_coincidences(data.counts), data.domain, data.level)


def krippendorff_alpha_matrix(reliability_data: npt.ArrayLike, level: Level = "interval") -> float:
    """Alpha from a coders x units matrix with NaN for missing (the package's layout)."""
    mat = np.asarray(reliability_data, dtype=np.float64)
    units = np.broadcast_to(np.arange(mat.shape[1])[None, :], mat.shape)
    return krippendorff_alpha(units.ravel(), mat.ravel(), level)


def _boot_weights(rng: np.random.Generator, n: int) -> FloatArray:
    """Multiplicities of one bootstrap resample of n units (with replacement)."""
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)


def _pattern_weights(
    rng: np.random.Generator, multiplicity: npt.NDArray[np.int64], n_boot: int
) -> FloatArray:
    """(n_boot, U) resampled counts of U distinct unit patterns.

    Resampling N units with replacement and counting how often each distinct pattern
    was drawn is exactly a multinomial over the patterns with their frequencies, so
    identical units (very common: three raters on a 3-way choice give a few dozen
    patterns) never need to be drawn one by one.
    """
    n = int(multiplicity.sum())
    p = multiplicity / n
    return rng.multinomial(n, p / p.sum(), size=n_boot).astype(np.float64)


def bootstrap_alpha(data: AlphaData, n_boot: int = 200, seed: int = 0) -> FloatArray:
    """Alpha on ``n_boot`` resamples of the units (items) with replacement."""
    n = len(data.counts)
    if n == 0 or n_boot <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    patterns, mult = np.unique(data.counts, axis=0, return_counts=True)
    n_pat, n_dom = patterns.shape
    if n_pat * n_dom * n_dom > 20_000_000:
        out = np.empty(n_boot)
        for b in range(n_boot):
            o = _coincidences(data.counts, _boot_weights(rng, n))
            out[b] = _alpha_from_o(o, data.domain, data.level)
        return out
    m = patterns.sum(axis=1)
    per = patterns[:, :, None] * patterns[:, None, :]
    per[:, np.arange(n_dom), np.arange(n_dom)] -= patterns
    per /= (m - 1.0)[:, None, None]
    o_boot = (_pattern_weights(rng, mult, n_boot) @ per.reshape(n_pat, -1)).reshape(
        n_boot, n_dom, n_dom
    )
    if data.level == "ordinal":
        return np.array([_alpha_from_o(o, data.domain, data.level) for o in o_boot])
    d = _distance_matrix(data.domain, np.zeros(n_dom), data.level)
    n_v = o_boot.sum(axis=1)
    total = n_v.sum(axis=1)
    # diag(d) is 0 for these metrics, so sum(e * d) = n_v' d n_v / (n - 1).
    expected = np.einsum("bi,ij,bj->b", n_v, d, n_v) / (total - 1.0)
    observed = (o_boot * d[None]).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1.0 - observed / expected, np.nan)


def percentile_interval(samples: npt.ArrayLike, level: float = 0.95) -> list[float | None]:
    arr = np.asarray(samples, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if len(arr) == 0:
        return [None, None]
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(arr, [tail, 100.0 - tail])
    return [float(lo), float(hi)]


# --- category-count based measures -------------------------------------------------------


def category_counts(
    units: npt.ArrayLike, categories: npt.ArrayLike, n_categories: int
) -> FloatArray:
    """(N units, K) counts of each category per unit, all units kept."""
    ucode = _unit_codes(units)
    cats = np.asarray(categories, dtype=np.int64).ravel()
    n_units = int(ucode.max()) + 1 if len(ucode) else 0
    flat = np.bincount(ucode * n_categories + cats, minlength=n_units * n_categories)
    return flat.reshape(n_units, n_categories).astype(np.float64)


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa from an (N units, K categories) count table.

    Units may have different numbers of raters (Fleiss' P_i is per unit); units with fewer
    than two ratings are dropped. With a constant number of raters this is the textbook
    formula (Fleiss 1971).
    """
    table = np.asarray(counts, dtype=np.float64)
    n_i = table.sum(axis=1)
    table, n_i = table[n_i >= 2], n_i[n_i >= 2]
    if len(table) == 0:
        return float("nan")
    p_i = ((table * (table - 1)).sum(axis=1)) / (n_i * (n_i - 1))
    p_bar = p_i.mean()
    p_j = table.sum(axis=0) / n_i.sum()
    p_e = float((p_j**2).sum())
    if p_e == 1.0:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def unit_pair_agreement(counts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per unit: (agreeing rater pairs, all rater pairs). Units with < 2 ratings give 0/0."""
    n_i = counts.sum(axis=1)
    agree = (counts * (counts - 1)).sum(axis=1) / 2.0
    pairs = n_i * (n_i - 1) / 2.0
    return agree, pairs


def percent_agreement(counts: npt.ArrayLike) -> float:
    """Mean over units (with >= 2 ratings) of the share of rater pairs that agree."""
    agree, pairs = unit_pair_agreement(np.asarray(counts, dtype=np.float64))
    ok = pairs > 0
    if not ok.any():
        return float("nan")
    return float((agree[ok] / pairs[ok]).mean())


def bootstrap_unit_mean(per_unit: FloatArray, n_boot: int = 200, seed: int = 0) -> FloatArray:
    """Bootstrap distribution of the mean of a per-unit statistic (units resampled)."""
    n = len(per_unit)
    if n == 0 or n_boot <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    values, mult = np.unique(np.asarray(per_unit, dtype=np.float64), return_counts=True)
    return np.asarray(_pattern_weights(rng, mult, n_boot) @ values / n, dtype=np.float64)


def bootstrap_fleiss(counts: FloatArray, n_boot: int = 200, seed: int = 0) -> FloatArray:
    table = counts[counts.sum(axis=1) >= 2]
    if len(table) == 0 or n_boot <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    patterns, mult = np.unique(table, axis=0, return_counts=True)
    w = _pattern_weights(rng, mult, n_boot)
    n_i = patterns.sum(axis=1)
    p_i = ((patterns * (patterns - 1)).sum(axis=1)) / (n_i * (n_i - 1))
    p_bar = (w @ p_i) / w.sum(axis=1)
    p_j = (w @ patterns) / (w @ n_i)[:, None]
    p_e = (p_j**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p_e < 1.0, (p_bar - p_e) / (1.0 - p_e), np.nan)


# --- Kendall's W for rankings --------------------------------------------------------------


def kendall_w_per_unit(
    units: npt.ArrayLike, coders: npt.ArrayLike, objects: npt.ArrayLike, ranks: npt.ArrayLike
) -> tuple[IntArray, FloatArray]:
    """Kendall's W (with the tie correction) for each unit ranked by >= 2 coders.

    One entry per (unit, coder, object); ``ranks`` are mid-ranks for tied objects (1 = best).
    Every coder of a unit must rank all of its objects. Returns (unit codes, W per unit).
    """
    ucode = _unit_codes(units)
    coder_arr = np.asarray(coders).ravel()
    obj = np.asarray(objects).ravel()
    rank = np.asarray(ranks, dtype=np.float64).ravel()
    if len(ucode) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    n_units = int(ucode.max()) + 1
    oc, rc = _unit_codes(obj), _unit_codes(coder_arr)
    ocode = _unit_codes(ucode * (int(oc.max()) + 1) + oc)  # (unit, object)
    rcode = _unit_codes(ucode * (int(rc.max()) + 1) + rc)  # (unit, coder): one ranking
    unit_of_obj = np.zeros(int(ocode.max()) + 1, dtype=np.int64)
    unit_of_obj[ocode] = ucode
    unit_of_r = np.zeros(int(rcode.max()) + 1, dtype=np.int64)
    unit_of_r[rcode] = ucode
    n_obj = np.bincount(unit_of_obj, minlength=n_units)
    m = np.bincount(unit_of_r, minlength=n_units)
    rank_sum = np.bincount(ocode, weights=rank)  # R_j per (unit, object)
    mean_r = m * (n_obj + 1) / 2.0
    s = np.bincount(unit_of_obj, weights=(rank_sum - mean_r[unit_of_obj]) ** 2, minlength=n_units)
    # Ties: per (ranking, rank value) group of size t, sum of t^3 - t.
    half = np.round(rank * 2).astype(np.int64)
    tie_code = _unit_codes(rcode * (int(half.max()) + 1) + half)
    tie_size = np.bincount(tie_code).astype(np.float64)
    tie_unit = np.zeros(len(tie_size), dtype=np.int64)
    tie_unit[tie_code] = ucode
    tie_term = np.bincount(tie_unit, weights=tie_size**3 - tie_size, minlength=n_units)
    denom = m.astype(np.float64) ** 2 * (n_obj.astype(np.float64) ** 3 - n_obj) - m * tie_term
    ok = (m >= 2) & (denom > 0)
    w = np.full(n_units, np.nan)
    w[ok] = 12.0 * s[ok] / denom[ok]
    return np.flatnonzero(ok), w[ok]


def mid_ranks(groups: Sequence[Sequence[T]]) -> dict[T, float]:
    """Mid-ranks (1 = best) for a ranking given as best-first groups of tied objects."""
    out: dict[T, float] = {}
    start = 1
    for group in groups:
        size = len(group)
        for obj in group:
            out[obj] = start + (size - 1) / 2.0
        start += size
    return out
