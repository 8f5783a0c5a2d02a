"""HyPER-style routing: features, the gain model, budgeted routing, and a simulated
campaign with known truth on which the router beats random routing at the same budget."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.analytics import routing
from annotate.analytics.routing import (
    fit_gain_model,
    fit_ridge,
    gain_summary,
    realised_gain,
    route_by_budget,
    route_random,
)
from annotate.analytics.routing_features import feature_matrix, item_signals, lexical_similarity
from tests.annotate.analytics.routing_sim import FIRST, campaign, fit_reward_model, gain

# --- features ------------------------------------------------------------------------------


def test_lexical_similarity_by_hand():
    assert lexical_similarity("The cat sat.", "the cat ran") == pytest.approx(2 / 4)
    assert lexical_similarity("", "") == 1.0
    assert lexical_similarity("words", "") == 0.0
    assert lexical_similarity("Grüße, Welt", "grüße welt") == 1.0


def test_feature_matrix_columns_and_values():
    signals = item_signals(
        ["hi", "a longer prompt"],
        ["x" * 9, "same words here"],
        ["y" * 99, "same words there"],
        judge_confidence=[0.9, np.nan],
        swap_consistent=[1, 0],
        language=[1, -1],
    )
    x, names = feature_matrix(signals, ["en", "de"])
    assert names == [
        "log_prompt_length", "length_difference", "lexical_similarity", "judge_confidence",
        "swap_consistent", "reward_margin", "reward_uncertainty",
        "missing=judge_confidence", "missing=reward_margin", "missing=reward_uncertainty",
        "lang=en", "lang=de",
    ]  # fmt: skip
    col = dict(zip(names, x.T, strict=True))
    assert col["log_prompt_length"][0] == pytest.approx(np.log(3))
    assert col["length_difference"][0] == pytest.approx(np.log(100) - np.log(10))
    assert col["lexical_similarity"][1] == pytest.approx(2 / 4)
    assert col["missing=judge_confidence"].tolist() == [0, 1]
    assert col["lang=de"].tolist() == [1, 0] and col["lang=en"].tolist() == [0, 0]
    with pytest.raises(ValueError):
        item_signals(["p"], ["a", "b"], ["c"])
    with pytest.raises(ValueError):
        item_signals(["p"], ["a"], ["c"], judge_confidence=[0.1, 0.2])


def test_realised_gain_is_the_change_of_the_training_target():
    assert realised_gain([0, 0, 0, 2, -1], [0, 1, 2, 1, 0]).tolist()[:4] == [0, 0.5, 1, 0.5]
    assert np.isnan(realised_gain([-1], [0])[0])
    assert realised_gain([6, 0], [3, 0], 7, pairwise=False).tolist() == [0.5, 0.0]


# --- the gain model ----------------------------------------------------------------------------


def test_ridge_leave_one_out_formula_matches_refits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1]
    y = x @ [0.5, 0.02, 3.0] + rng.normal(0, 0.3, 40)
    lam = 5.0
    model = fit_ridge(x, y, ["a", "b", "c"], lambdas=[lam])
    # Brute force: refit without each row (same standardisation as the full fit, as the
    # closed form assumes), predict it.
    z = (x - model.mean) / model.scale
    errors = []
    for i in range(40):
        keep = np.arange(40) != i
        zc, yc = z[keep] - z[keep].mean(axis=0), y[keep] - y[keep].mean()
        beta = np.linalg.solve(zc.T @ zc + lam * np.eye(3), zc.T @ yc)
        pred = y[keep].mean() + (z[i] - z[keep].mean(axis=0)) @ beta
        errors.append(y[i] - pred)
    assert model.loo_mse == pytest.approx(np.mean(np.square(errors)), rel=1e-8)


def test_ridge_recovers_a_linear_gain_and_fills_unknowns():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(500, 3))
    y = 0.1 + 0.6 * x[:, 0] - 0.3 * x[:, 1] + rng.normal(0, 0.02, 500)
    model = fit_ridge(x, y, ["a", "b", "c"])
    assert model.kind == "ridge" and model.lam < 5.0  # little noise: little shrinkage
    raw = model.coef / model.scale
    np.testing.assert_allclose(raw, [0.6, -0.3, 0.0], atol=0.02)
    probe = np.array([[0.5, np.nan, 0.5]])  # unknown b: filled with its training mean
    expect = 0.1 + 0.6 * 0.5 - 0.3 * x[:, 1].mean()
    assert model.predict(probe)[0] == pytest.approx(expect, abs=0.02)
    assert set(model.summary()["coef"]) == {"a", "b", "c"}


def test_gain_model_edge_cases():
    few = fit_gain_model([[1.0], [2.0]], [0.2, 0.4], ["a"], kind="ridge")
    assert few.kind == "constant" and few.predict([[9.0]])[0] == pytest.approx(0.3)
    with pytest.raises(ValueError):
        fit_gain_model([[1.0]], [np.nan], ["a"])  # no item with a known gain
    # All-unknown column and a constant column: finite predictions.
    x = np.c_[np.full(10, np.nan), np.ones(10), np.arange(10.0)]
    model = fit_ridge(x, np.linspace(0, 1, 10), ["u", "c", "t"])
    assert np.isfinite(model.predict(x)).all()


def test_lightgbm_is_used_only_when_installed(monkeypatch):
    rng = np.random.default_rng(2)
    x, y = rng.uniform(size=(300, 2)), rng.uniform(size=300)
    installed = routing._lightgbm() is not None
    auto = fit_gain_model(x, y, ["a", "b"])
    assert auto.kind == ("lightgbm" if installed else "ridge")
    if not installed:
        with pytest.raises(ValueError, match="not installed"):
            fit_gain_model(x, y, ["a", "b"], kind="lightgbm")

    # The wiring with a stand-in for the sklearn-style LGBMRegressor API (the package is
    # optional and not installed here; ridge is the path the product runs by default).
    class Regressor:
        def __init__(self, **params):
            self.params = params

        def fit(self, xx, yy):
            self.mean = float(np.mean(yy))

        def predict(self, xx):
            return np.full(len(xx), self.mean)

    monkeypatch.setitem(sys.modules, "lightgbm", types.SimpleNamespace(LGBMRegressor=Regressor))
    model = fit_gain_model(x, y, ["a", "b"], kind="lightgbm")
    assert model.kind == "lightgbm" and model.booster.params["random_state"] == 0
    assert model.predict(x[:3]) == pytest.approx([y.mean()] * 3)
    assert fit_gain_model(x[:50], y[:50], ["a", "b"]).kind == "ridge"  # too few for trees


# --- routing -------------------------------------------------------------------------------------


def test_route_by_budget_by_hand():
    gain_ = [0.1, 0.9, 0.5, 0.9, np.nan, 0.3]
    plan = route_by_budget(gain_, 3)
    assert plan.queue.tolist() == [1, 3, 2]  # ties keep item order
    assert plan.to_human.tolist() == [False, True, True, True, False, False]
    assert plan.threshold == 0.5 and plan.spent == 3 and plan.predicted_gain == pytest.approx(2.3)
    # Costs: item 1 needs 3 labels, so per label it gains 0.3: order 3, 2, 1, 5, 0; after
    # 3 and 2 (cost 2) item 1 no longer fits in 4, and 5 and 0 fill the budget.
    plan = route_by_budget(gain_, 4, cost=[1, 3, 1, 1, 1, 1])
    assert plan.queue.tolist() == [3, 2, 5, 0] and plan.spent == 4
    assert route_by_budget(gain_, 10, min_gain=0.4).queue.tolist() == [1, 3, 2]
    # An item without a prediction (NaN) is never routed, even with budget to spare.
    assert route_by_budget(gain_, 10).queue.tolist() == [1, 3, 2, 5, 0]
    assert route_by_budget(gain_, 0).threshold is None
    with pytest.raises(ValueError):
        route_by_budget(gain_, 3, cost=[1, 0, 1, 1, 1, 1])
    assert route_random(100, 17, seed=3).sum() == 17 and route_random(5, 9).sum() == 5


def test_greedy_fill_skips_an_item_that_no_longer_fits():
    plan = route_by_budget([0.9, 0.8, 0.1], 3, cost=[2, 2, 1])
    assert plan.queue.tolist() == [0, 2] and plan.spent == 3


def test_gain_summary_by_hand():
    s = gain_summary([0.1, 0.2, 0.3, 0.4, np.nan], [0.0, 0.0, 1.0, 1.0, 1.0], n_bins=2)
    assert s["n"] == 4 and s["predicted_mean"] == pytest.approx(0.25)
    assert s["bins"] == [
        {"predicted": 0.15, "realised": 0.0, "n": 2},
        {"predicted": 0.35, "realised": 1.0, "n": 2},
    ]
    assert s["spearman"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 1.5, 3.5, 3.5])[0, 1])
    assert gain_summary([], [])["pearson"] is None


# --- the simulated campaign --------------------------------------------------------------


def test_router_beats_random_routing_at_the_same_budget():
    """Per seed: a calibration set of 400 items labelled by both humans and the judge
    trains the gain model; 300 of 2,000 new items may go to humans (15%); the rest keep the
    judge's label. "Beats" is measured twice, paired by seed, over 20 seeds:
    (1) label accuracy of the resulting dataset against the truth, and
    (2) held-out accuracy (3,000 fresh pairs, against the true utility) of a
    Bradley-Terry reward model trained on the calibration set plus that dataset.
    Both mean paired differences must be positive by more than 3 standard errors."""
    rows = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        train, pool, test = campaign(rng, 400), campaign(rng, 2000), campaign(rng, 3000)
        model = fit_gain_model(train.features, gain(train), train.names, kind="ridge")
        predicted = model.predict(pool.features)
        plan = route_by_budget(predicted, 300)
        row = []
        for to_human in (plan.to_human, route_random(2000, 300, seed)):
            labels = np.where(to_human, pool.human, pool.judge)
            beta = fit_reward_model(
                np.r_[train.rm_inputs(), pool.rm_inputs()], np.r_[train.human, labels]
            )
            rm_right = (test.rm_inputs() @ beta > 0) == (test.truth == FIRST)
            row += [float((labels == pool.truth).mean()), float(rm_right.mean())]
        summary = gain_summary(predicted, gain(pool))
        realised = float(np.nanmean(gain(pool)[plan.to_human]))
        row += [summary["spearman"], realised, float(np.nanmean(gain(pool)))]
        rows.append(row)
    r = np.array(rows)
    for diff in (r[:, 0] - r[:, 2], r[:, 1] - r[:, 3]):
        assert diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert r[:, 1].mean() > r[:, 3].mean() + 0.02  # reward-model accuracy, ~+5 points
    # Predicted gain tracks realised gain, and routed items realise more than average.
    assert r[:, 4].mean() > 0.25 and (r[:, 5] > r[:, 6]).all()


@settings(max_examples=200, deadline=None)
@given(
    gains=st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), max_size=40),
    budget=st.floats(0, 50),
    data=st.data(),
)
def test_routing_never_overspends_and_routes_the_top_gains(gains, budget, data):
    g = np.array(gains, dtype=np.float64)
    plan = route_by_budget(g, budget)
    assert plan.spent <= budget and plan.to_human.sum() == len(plan.queue)
    assert not np.isnan(g[plan.to_human]).any()
    rest = g[~plan.to_human & np.isfinite(g)]
    if plan.to_human.any() and len(rest):
        assert g[plan.to_human].min() >= rest.max()  # unit costs: the top gains go
    costs = data.draw(st.lists(st.floats(0.1, 5), min_size=len(g), max_size=len(g)))
    assert route_by_budget(g, budget, cost=costs).spent <= budget + 1e-9
