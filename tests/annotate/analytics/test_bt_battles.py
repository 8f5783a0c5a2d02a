"""Bradley-Terry on prepared battles: Davidson's fit against a direct maximisation, tie
models from one set of resamples, and group subsets that keep clusters whole."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from annotate.analytics.bradley_terry import bradley_terry, fit_battles, prepare_battles


def _battles(seed=0, n=900, m=4):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    theta = np.linspace(-0.6, 0.6, m)
    p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))
    u = rng.random(n)
    score = np.where(u < 0.25, 0.5, np.where(u < 0.25 + 0.75 * p, 1.0, 0.0))
    return a, b, score


def test_davidson_matches_direct_likelihood_maximisation():
    a, b, score = _battles()
    m = 4
    res = bradley_terry(a, b, score, m, 0, prior=0.0, ties="davidson", tol=1e-13)

    def nll(x):
        th = np.r_[x[: m - 1], -x[: m - 1].sum()]
        nu = np.exp(x[-1])
        pa, pb = np.exp(th[a]), np.exp(th[b])
        tie = nu * np.sqrt(pa * pb)
        num = np.where(score == 1.0, pa, np.where(score == 0.0, pb, tie))
        return -np.log(num / (pa + pb + tie)).sum()

    opt = minimize(nll, np.zeros(m), method="BFGS", options={"gtol": 1e-9})
    theta = np.r_[opt.x[: m - 1], -opt.x[: m - 1].sum()]
    np.testing.assert_allclose(res.log_strength, theta, atol=1e-5)
    assert res.nu == pytest.approx(np.exp(opt.x[-1]), rel=1e-5)
    # Without ties Davidson's nu goes to 0 (only the virtual prior ties remain).
    no_ties = score != 0.5
    plain = bradley_terry(a[no_ties], b[no_ties], score[no_ties], m, 0, ties="davidson")
    assert plain.nu < 0.01


def test_both_tie_models_from_one_set_of_resamples():
    a, b, score = _battles(1)
    cluster = np.arange(len(a)) // 3
    fits = fit_battles(prepare_battles(a, b, score, 4, cluster), ties=("half", "davidson"))
    half = bradley_terry(a, b, score, 4, cluster=cluster)
    dav = bradley_terry(a, b, score, 4, cluster=cluster, ties="davidson")
    np.testing.assert_allclose(fits["half"].ci_low, half.ci_low)
    np.testing.assert_allclose(fits["davidson"].ci_high, dav.ci_high)
    assert fits["davidson"].nu == pytest.approx(dav.nu)
    # Ties pull half-win strengths together; Davidson reads them as ties.
    spread = np.ptp
    assert spread(fits["davidson"].strength) > spread(fits["half"].strength)


def test_group_subsets_take_whole_clusters():
    a, b, score = _battles(2)
    cluster = np.arange(len(a)) // 3
    battles = prepare_battles(a, b, score, 4, cluster)
    group = cluster % 2 == 0
    sub = fit_battles(battles, subset=group, n_boot=50)["half"]
    direct = bradley_terry(a[group], b[group], score[group], 4, 50, cluster=cluster[group])
    np.testing.assert_allclose(sub.strength, direct.strength)
    assert sub.n_clusters == direct.n_clusters == len(np.unique(cluster[group]))
    with pytest.raises(ValueError, match="whole clusters"):
        fit_battles(battles, subset=np.arange(len(a)) % 2 == 0)


def test_same_model_battles_are_ignored_with_clusters():
    res = bradley_terry([0, 0, 1], [0, 1, 1], [1.0, 1.0, 0.5], 2, 20, cluster=[7, 7, 8])
    assert res.n_battles == 1 and res.n_clusters == 1 and res.battles.tolist() == [1, 1]
