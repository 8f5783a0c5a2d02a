"""Consistency, Bradley-Terry and annotator quality against hand-worked references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from annotate.analytics import consistency as cons
from annotate.analytics import quality as q
from annotate.analytics.bradley_terry import bradley_terry, leaderboard


def _j(rows):
    """rows: (annotator, a, b, outcome, order)."""
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return cons.Judgments(
        arr[:, 0].astype(np.int64),
        arr[:, 1].astype(np.int64),
        arr[:, 2].astype(np.int64),
        arr[:, 3].astype(np.int64),
        arr[:, 4],
        np.arange(len(arr), dtype=np.int64),
    )


def _r(rows):
    """rows: (annotator, response, value, order)."""
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    return cons.Ratings(
        arr[:, 0].astype(np.int64),
        arr[:, 1].astype(np.int64),
        arr[:, 2],
        arr[:, 3],
        np.arange(len(arr), dtype=np.int64),
    )


def test_within_annotator_hand_example():
    # Annotator 0 rates responses 0..3 as 5, 3, 3, 6 and compares four pairs.
    ratings = _r(
        [(0, 0, 5, 0), (0, 1, 3, 1), (0, 2, 3, 2), (0, 3, 6, 3), (0, 0, 1, 9)]
    )  # a later re-rating of response 0 must be ignored
    judgments = _j(
        [
            (0, 0, 1, 1, 10),  # ratings 5 > 3 imply A; judged A: agree
            (0, 1, 2, 0, 11),  # 3 = 3 imply tie; judged tie: agree
            (0, 3, 0, -1, 12),  # 6 > 5 imply A; judged B: disagree
            (0, 2, 3, -1, 13),  # 3 < 6 imply B; judged B: agree
            (0, 1, 0, 1, 14),  # repeat of pair (0, 1), counted once (the first)
            (0, 0, 9, 1, 15),  # response 9 was never rated: not counted
            (1, 0, 1, 1, 16),  # annotator 1 has no ratings: not counted within annotator
        ]
    )
    res = cons.within_annotator(judgments, ratings)
    assert (res.n_pairs, res.n_agree) == (4, 3)
    assert res.rate == pytest.approx(0.75)
    # rows implied [A, tie, B] x columns judged [A, tie, B]
    assert res.confusion == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    bad = cons.inconsistent_cases(res)
    assert len(bad) == 1 and (res.a[bad[0]], res.b[bad[0]]) == (3, 0)


def test_across_annotators_uses_mean_ratings_and_majority():
    ratings = _r([(0, 0, 6, 0), (1, 0, 4, 1), (0, 1, 5, 2), (1, 1, 5, 3)])  # means 5 and 5
    judgments = _j([(0, 0, 1, 1, 5), (1, 1, 0, 0, 6), (2, 0, 1, 0, 7)])  # votes: A, tie, tie
    res = cons.across_annotators(judgments, ratings)
    assert res.n_pairs == 1 and res.judged[0] == 0 and res.implied[0] == 0
    assert res.rate == 1.0
    # A tied plurality (one A, one B) is a tie.
    res2 = cons.across_annotators(
        _j([(0, 0, 1, 1, 0), (1, 0, 1, -1, 1)]), _r([(0, 0, 7, 0), (1, 1, 2, 1)])
    )
    assert res2.judged[0] == 0 and res2.implied[0] == 1 and res2.rate == 0.0


def test_grouped_counts_per_group():
    ratings = _r([(0, 0, 5, 0), (0, 1, 3, 1), (1, 0, 2, 2), (1, 1, 3, 3)])
    judgments = _j([(0, 0, 1, 1, 4), (1, 0, 1, 1, 5)])
    res = cons.within_annotator(judgments, ratings)
    n, k = cons.grouped(res, np.array([1, 0]), 2)
    assert list(n) == [1, 1] and list(k) == [0, 1]


def _bt_reference(a, b, s, m):
    def nll(t):
        t = np.r_[0.0, t]
        d = t[a] - t[b]
        return -(s * -np.logaddexp(0, -d) + (1 - s) * -np.logaddexp(0, d)).sum()

    res = minimize(nll, np.zeros(m - 1), method="BFGS", options={"gtol": 1e-10})
    t = np.r_[0.0, res.x]
    return t - t.mean()


def test_bradley_terry_matches_direct_likelihood_maximisation():
    rng = np.random.default_rng(0)
    m, n = 5, 4000
    true = rng.normal(size=m)
    a, b = rng.integers(0, m, n), rng.integers(0, m, n)
    p = 1 / (1 + np.exp(-(true[a] - true[b])))
    u = rng.random(n)
    s = np.where(u < 0.8 * p, 1.0, np.where(u < 0.8 * p + 0.2, 0.5, 0.0))
    res = bradley_terry(a, b, s, m, n_boot=100, prior=0.0)
    keep = a != b
    ref = _bt_reference(a[keep], b[keep], s[keep], m)
    np.testing.assert_allclose(res.log_strength, ref, atol=1e-6)
    assert (res.ci_low <= res.strength).all() and (res.strength <= res.ci_high).all()
    # Recovers the order of the true strengths.
    assert list(np.argsort(res.strength)) == list(np.argsort(true))


def test_bradley_terry_hand_example_ties_are_half_wins():
    # X beats Y twice, loses once and ties twice: 3 "wins" of 5 -> p_X / p_Y = 3 / 2.
    res = bradley_terry(
        [0, 0, 1, 0, 1], [1, 1, 0, 1, 0], [1, 1, 1, 0.5, 0.5], 2, n_boot=0, prior=0.0
    )
    assert np.exp(res.log_strength[0] - res.log_strength[1]) == pytest.approx(1.5)
    rows = leaderboard(res, ["X", "Y"])
    assert [r["model"] for r in rows] == ["X", "Y"] and rows[0]["battles"] == 5
    assert rows[0]["win_rate"] == pytest.approx(0.6)


def test_loo_consensus_agreement():
    # Item 0: coders 0, 1, 2 say 0, 0, 1. Item 1: coders 0, 1 say 2, 2. Item 2: coder 0 alone.
    units = [0, 0, 0, 1, 1, 2]
    coders = [0, 1, 2, 0, 1, 0]
    cats = [0, 0, 1, 2, 2, 1]
    n, a = q.loo_consensus_agreement(units, coders, cats, 3, 3)
    assert list(n) == [2, 2, 1]
    # coder 0: item 0 others {0, 1} tie -> own 0 is a leader: match; item 1 match.
    # coder 2: others {0, 0} -> 1 is not the plurality.
    assert list(a) == [2, 2, 0]


def test_loo_rating_deviation_and_median():
    n, mad = q.loo_rating_deviation([0, 0, 0], [0, 1, 2], [1.0, 3.0, 5.0], 3)
    assert list(n) == [1, 1, 1]
    np.testing.assert_allclose(mad, [3.0, 0.0, 3.0])
    med = q.median_by_group([0, 0, 0, 1, 1, 2], [5, 1, 3, 2, 4, np.nan], 4)
    assert med[0] == 3 and med[1] == 3 and np.isnan(med[2]) and np.isnan(med[3])


def test_self_consistency_compares_repeats_with_the_first_label():
    coders = [0, 0, 0, 1, 1]
    content = [7, 7, 7, 7, 8]
    values = [1, 1, -1, 0, 0]
    order = [0, 1, 2, 3, 4]
    n, a = q.self_consistency(coders, content, values, order, 2)
    assert list(n) == [2, 0] and list(a) == [1, 0]
