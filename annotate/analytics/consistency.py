"""Ratings-vs-rankings consistency, as defined in "Peering Through Preferences".

Bansal et al. (ICLR 2024) compare, for every compared pair (A, B) whose two responses also
carry absolute ratings, the preference the ratings imply (higher rating wins, equal
ratings are a tie) with the explicit pairwise judgment (A, B or tie). Consistency is the
share of pairs where the two agree, ties included. Their analysis keeps the *first*
rating when a response was rated twice and counts a repeated comparison once; both rules
are applied here, in time order (``order``), per annotator.

Outcomes are coded +1 (A preferred), 0 (tie), -1 (B preferred). The 3 x 3 confusion
matrix has rows = the preference implied by the ratings and columns = the explicit
judgment, both in the order [A, tie, B].

Pure numpy: the selector (annotate.selectors.analytics) turns labels into these arrays;
rankings arrive already expanded into every pair they imply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from .resample import pattern_counts, pattern_weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

OUTCOME_NAMES = ["A", "tie", "B"]


@dataclass(frozen=True)
class Judgments:
    """Explicit pairwise preferences, one entry per judged pair."""

    annotator: IntArray
    a: IntArray  # response code shown (or listed) first
    b: IntArray
    outcome: IntArray  # +1 A, 0 tie, -1 B
    order: FloatArray  # time order; the earliest of a repeated comparison counts
    label: IntArray  # index of the label it came from (for drill-down), -1 if none


@dataclass(frozen=True)
class Ratings:
    """Absolute ratings of single responses on one attribute."""

    annotator: IntArray
    response: IntArray
    value: FloatArray
    order: FloatArray
    label: IntArray


@dataclass
class ConsistencyResult:
    n_pairs: int
    n_agree: int
    confusion: list[list[int]]  # rows implied by ratings, columns judgment: [A, tie, B]
    # Entries behind each counted pair, for per-annotator / per-group / drill-down views.
    annotator: IntArray = field(repr=False)
    a: IntArray = field(repr=False)
    b: IntArray = field(repr=False)
    rating_a: FloatArray = field(repr=False)
    rating_b: FloatArray = field(repr=False)
    implied: IntArray = field(repr=False)
    judged: IntArray = field(repr=False)
    label: IntArray = field(repr=False)

    @property
    def rate(self) -> float | None:
        return self.n_agree / self.n_pairs if self.n_pairs else None

    def summary(self) -> dict[str, object]:
        return {
            "rate": self.rate,
            "n_pairs": self.n_pairs,
            "n_agree": self.n_agree,
            "confusion": self.confusion,
            "confusion_labels": {
                "rows": "implied by ratings",
                "cols": "judgment",
                "order": OUTCOME_NAMES,
            },
        }


def _first_by(keys: IntArray, order: FloatArray) -> IntArray:
    """Indices of the earliest entry for each distinct key."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.lexsort((np.arange(len(keys)), order, keys))
    k = keys[idx]
    first = np.r_[True, k[1:] != k[:-1]]
    return np.sort(idx[first])


def dedupe_judgments(j: Judgments, per_annotator: bool = True) -> Judgments:
    """Keep the first judgment of each unordered pair (per annotator)."""
    lo, hi = np.minimum(j.a, j.b), np.maximum(j.a, j.b)
    n_resp = int(max(hi.max(initial=0), 0)) + 1
    key = lo * n_resp + hi
    if per_annotator:
        key = j.annotator * (n_resp * n_resp) + key
    keep = _first_by(key, j.order)
    return Judgments(
        j.annotator[keep], j.a[keep], j.b[keep], j.outcome[keep], j.order[keep], j.label[keep]
    )


def first_ratings(r: Ratings) -> Ratings:
    """Keep each annotator's first rating of each response."""
    n_resp = int(r.response.max(initial=0)) + 1
    keep = _first_by(r.annotator * n_resp + r.response, r.order)
    return Ratings(r.annotator[keep], r.response[keep], r.value[keep], r.order[keep], r.label[keep])


def _confusion(implied: IntArray, judged: IntArray) -> list[list[int]]:
    cells = np.bincount((1 - implied) * 3 + (1 - judged), minlength=9).reshape(3, 3)
    return [[int(x) for x in row] for row in cells]


def _lookup(keys_sorted: IntArray, values_sorted: FloatArray, query: IntArray) -> FloatArray:
    """values for query keys, NaN where a key is absent."""
    out = np.full(len(query), np.nan)
    if len(keys_sorted) == 0:
        return out
    pos = np.searchsorted(keys_sorted, query)
    pos_c = np.minimum(pos, len(keys_sorted) - 1)
    hit = keys_sorted[pos_c] == query
    out[hit] = values_sorted[pos_c[hit]]
    return out


def _result(
    annotator: IntArray,
    a: IntArray,
    b: IntArray,
    ra: FloatArray,
    rb: FloatArray,
    judged: IntArray,
    label: IntArray,
) -> ConsistencyResult:
    ok = ~(np.isnan(ra) | np.isnan(rb))
    annotator, a, b, judged, label = annotator[ok], a[ok], b[ok], judged[ok], label[ok]
    ra, rb = ra[ok], rb[ok]
    diff = ra - rb
    # Means of integer ratings can differ by float noise only; treat |d| < 1e-9 as equal.
    implied = np.where(diff > 1e-9, 1, np.where(diff < -1e-9, -1, 0)).astype(np.int64)
    agree = implied == judged
    return ConsistencyResult(
        n_pairs=int(ok.sum()),
        n_agree=int(agree.sum()),
        confusion=_confusion(implied, judged),
        annotator=annotator,
        a=a,
        b=b,
        rating_a=ra,
        rating_b=rb,
        implied=implied,
        judged=judged,
        label=label,
    )


def _pairable(judgments: Judgments, ratings: Ratings) -> Judgments:
    """The judgments, or none of them when there is no rating to compare them with (the
    result is empty either way; 1M judgments cost ~100 MB and 0.3 s to find that out)."""
    if len(ratings.response):
        return judgments
    return Judgments(*(getattr(judgments, f.name)[:0] for f in fields(Judgments)))


def within_annotator(judgments: Judgments, ratings: Ratings) -> ConsistencyResult:
    """Each annotator's judgments against the same annotator's own ratings."""
    j = dedupe_judgments(_pairable(judgments, ratings), per_annotator=True)
    r = first_ratings(ratings)
    n_resp = int(max(r.response.max(initial=0), j.a.max(initial=0), j.b.max(initial=0))) + 1
    rkey = r.annotator * n_resp + r.response
    order = np.argsort(rkey)
    keys_sorted, vals_sorted = rkey[order], r.value[order]
    ra = _lookup(keys_sorted, vals_sorted, j.annotator * n_resp + j.a)
    rb = _lookup(keys_sorted, vals_sorted, j.annotator * n_resp + j.b)
    return _result(j.annotator, j.a, j.b, ra, rb, j.outcome, j.label)


def across_annotators(judgments: Judgments, ratings: Ratings) -> ConsistencyResult:
    """Mean rating of each response (all annotators) vs the majority judgment of each pair.

    Each annotator counts once per pair and per response (first label). The majority is
    the plurality of {A, tie, B} among annotators; a tied plurality counts as a tie.
    Pairs are oriented (lower response code, higher response code).
    """
    j = dedupe_judgments(_pairable(judgments, ratings), per_annotator=True)
    r = first_ratings(ratings)
    n_resp = int(max(r.response.max(initial=0), j.a.max(initial=0), j.b.max(initial=0))) + 1
    sums = np.bincount(r.response, weights=r.value, minlength=n_resp)
    cnt = np.bincount(r.response, minlength=n_resp)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    lo, hi = np.minimum(j.a, j.b), np.maximum(j.a, j.b)
    flipped = np.where(j.a <= j.b, j.outcome, -j.outcome)
    pair_key = lo * n_resp + hi
    uniq, inv = np.unique(pair_key, return_inverse=True)
    votes = np.bincount(inv * 3 + (1 - flipped), minlength=len(uniq) * 3).reshape(-1, 3)
    top = votes.max(axis=1)
    n_top = (votes == top[:, None]).sum(axis=1)
    majority = np.where(n_top > 1, 0, 1 - votes.argmax(axis=1)).astype(np.int64)
    plo, phi = uniq // n_resp, uniq % n_resp
    none = np.full(len(uniq), -1, dtype=np.int64)
    return _result(none, plo, phi, mean[plo], mean[phi], majority, none)


def grouped(
    result: ConsistencyResult, group_of_annotator: IntArray, n_groups: int
) -> tuple[IntArray, IntArray]:
    """(n_pairs, n_agree) per group code, from a within-annotator result."""
    g = group_of_annotator[result.annotator]
    agree = (result.implied == result.judged).astype(np.float64)
    valid = g >= 0
    n = np.bincount(g[valid], minlength=n_groups).astype(np.int64)
    k = np.bincount(g[valid], weights=agree[valid], minlength=n_groups).astype(np.int64)
    return n, k


def inconsistent_cases(result: ConsistencyResult) -> IntArray:
    """Positions (within the result arrays) of the pairs whose two signals disagree."""
    return np.flatnonzero(result.implied != result.judged)


def annotator_bootstrap_rate(
    annotator: npt.ArrayLike, agree: npt.ArrayLike, n_boot: int = 200, seed: int = 0
) -> FloatArray:
    """Bootstrap distribution of the pooled rate sum(agree) / n_pairs, resampling annotators.

    The unit of resampling is the annotator, not the pair: one annotator's pairs share
    that annotator's habits (how they use the scale, how carefully they rate), so pairs
    are clustered and a pair bootstrap treats n_pairs correlated draws as independent. In
    simulation (annotators with different consistency rates) the pair bootstrap covered
    the population rate 68.5% of the time for a nominal 95% interval; this one covers it
    at about the nominal rate (tests/annotate/analytics/test_coverage_fixed.py).

    Each resample draws A annotators with replacement from the A present and recomputes
    sum_a w_a k_a / sum_a w_a n_a (w_a = times drawn, n_a = pairs, k_a = agreeing
    pairs). Annotators with the same (n_a, k_a) are one pattern, drawn with one
    multinomial, so the cost does not grow with the number of pairs. Take the interval
    with ``resample.expanded_percentile_interval(samples, n_annotators)``: campaigns
    often have few annotators, where the plain percentile interval is too narrow.
    """
    ann = np.asarray(annotator).ravel()
    agr = np.asarray(agree, dtype=np.float64).ravel()
    if len(ann) == 0 or n_boot <= 0:
        return np.zeros(0)
    patterns, mult = pattern_counts(ann, np.c_[np.ones(len(agr)), agr])
    w = pattern_weights(np.random.default_rng(seed), mult, n_boot)
    # Every annotator present has at least one pair, so the denominator is positive.
    return np.asarray((w @ patterns[:, 1]) / (w @ patterns[:, 0]), dtype=np.float64)
