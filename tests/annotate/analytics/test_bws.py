"""Best-worst scaling analytics on simulated labels whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annotate.analytics.bws import bws_section, counting_scores, implied_pairs


def _simulate(utility: np.ndarray, n_labels: int, k: int, seed: int):
    """MaxDiff choices: best with probability ∝ exp(u), worst ∝ exp(-u) among the rest."""
    rng = np.random.default_rng(seed)
    label, unit, value = [], [], []
    for n in range(n_labels):
        shown = rng.choice(len(utility), size=k, replace=False)
        u = utility[shown]
        best = shown[np.argmax(u + rng.gumbel(size=k))]
        rest = shown[shown != best]
        worst = rest[np.argmax(-utility[rest] + rng.gumbel(size=k - 1))]
        for s in shown:
            label.append(n)
            unit.append(int(s))
            value.append(1 if s == best else -1 if s == worst else 0)
    return np.array(label), np.array(unit), np.array(value)


def test_counting_scores_by_hand():
    # Two labels over units 0..3: 0 best twice, 3 worst once, 2 worst once.
    label = [0, 0, 0, 1, 1, 1]
    unit = [0, 1, 3, 0, 1, 2]
    value = [1, 0, -1, 1, 0, -1]
    out = counting_scores(label, unit, value, 4, n_boot=50)
    assert out["score"].tolist() == [1.0, 0.0, -1.0, -1.0]
    assert out["shown"].tolist() == [2, 2, 1, 1]


def test_implied_pairs_are_2k_minus_3():
    winner, loser, cluster = implied_pairs([7, 7, 7, 7], [0, 1, 2, 3], [0, 1, -1, 0])
    pairs = sorted(zip(winner.tolist(), loser.tolist(), strict=True))
    # best (1) beat 0, 2, 3; the middle ones (0, 3) beat the worst (2).
    assert pairs == [(0, 2), (1, 0), (1, 2), (1, 3), (3, 2)]
    assert set(cluster.tolist()) == {7}


def test_incomplete_label_implies_nothing():
    winner, _, _ = implied_pairs([1, 1, 1], [0, 1, 2], [1, 0, 0])
    assert len(winner) == 0


def test_recovers_known_order_with_intervals():
    utility = np.array([1.5, 0.8, 0.2, -0.4, -1.2])
    label, unit, value = _simulate(utility, n_labels=600, k=4, seed=3)
    names = [f"m{i}" for i in range(len(utility))]
    out = bws_section(label, unit, value, names, n_boot=200, seed=1)
    assert out["n_labels"] == 600
    counting = out["counting"]
    assert [r["model"] for r in counting] == names  # best first, as the truth
    for r in counting:
        assert r["ci"][0] < r["score"] < r["ci"][1]
        assert r["ci"][0] >= -1 and r["ci"][1] <= 1
    bt = out["bradley_terry"]
    assert [r["model"] for r in bt] == names
    assert out["n_pairs"] == 600 * (2 * 4 - 3)
    # Both estimates agree with the utilities, and with each other.
    scores = [r["score"] for r in sorted(counting, key=lambda r: r["model"])]
    ratings = [r["rating"] for r in sorted(bt, key=lambda r: r["model"])]
    assert stats.spearmanr(scores, utility).statistic == pytest.approx(1.0)
    assert stats.pearsonr(scores, ratings).statistic > 0.98


def test_interval_coverage_of_the_counting_score():
    # The interval resamples whole labels: over repeated studies it covers the score a
    # very large study gives (nominal 95%; at least 85% over 40 studies).
    utility = np.array([0.9, 0.3, 0.0, -0.6])
    big_l, big_u, big_v = _simulate(utility, n_labels=40_000, k=3, seed=99)
    truth = counting_scores(big_l, big_u, big_v, 4, n_boot=1)["score"]
    covered = 0
    for seed in range(40):
        lab, u, v = _simulate(utility, n_labels=150, k=3, seed=seed)
        out = counting_scores(lab, u, v, 4, n_boot=300, seed=seed)
        covered += int(out["ci_low"][0] <= truth[0] <= out["ci_high"][0])
    assert covered >= 34


def test_empty_input():
    out = bws_section(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), [])
    assert out == {"n_labels": 0, "counting": [], "bradley_terry": []}
