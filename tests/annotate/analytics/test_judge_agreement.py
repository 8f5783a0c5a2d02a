"""Judge-human agreement and swap consistency: hand examples, and simulated judges with
known error rates and position bias whose kappa, swap consistency, first-position rate
and majority accuracy fall inside their intervals at (at least 90% of) the nominal rate.

Monte-Carlo error: R = 200 replications give a coverage standard error of about 0.015
around 0.95, so the 0.90 bound is more than 3 standard errors away; seeds are fixed."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.analytics import agreement as ag
from annotate.analytics.judge_agreement import (
    Breakdown,
    agreement_by_group,
    human_majority,
    judge_agreement,
    judge_agreement_breakdowns,
    judge_human_labels,
    kappa_from_confusion,
)
from annotate.analytics.judge_swap import (
    aggregate_verdicts,
    swap_consistency,
    swap_status,
    to_canonical,
)
from tests.annotate.analytics.judge_sim import K, World, noisy, simulate


def _covers(fig, truth):
    lo, hi = fig["ci"]
    return lo is not None and lo <= truth <= hi


# --- hand examples --------------------------------------------------------------------------


def test_kappa_by_hand():
    conf = np.array([[20, 5], [10, 15]])
    # p_o = 35/50; p_e = (25 * 30 + 25 * 20) / 50^2 = 0.5
    assert float(kappa_from_confusion(conf)) == pytest.approx((0.7 - 0.5) / 0.5)
    assert float(kappa_from_confusion(conf, "quadratic")) == pytest.approx(0.4)  # K = 2
    assert np.isnan(kappa_from_confusion(np.array([[5, 0], [0, 0]])))  # chance agreement 1


def test_pooled_kappa_matches_the_pairwise_implementation():
    # One human per item: the pooled judge-human kappa is plain two-coder Cohen's kappa,
    # which agreement.cohen_kappa_pairs computes independently (also quadratic).
    rng = np.random.default_rng(0)
    human = rng.integers(0, 5, 400)
    judge = np.clip(human + rng.integers(-1, 2, 400), 0, 4)
    labels = judge_human_labels(np.arange(400), np.zeros(400), human, judge)
    ref = ag.cohen_kappa_pairs(
        np.r_[np.arange(400), np.arange(400)],
        np.r_[np.zeros(400), np.ones(400)],
        np.r_[judge, human],
        5,
    )
    plain = judge_agreement(labels, 5, n_boot=0)
    quad = judge_agreement(labels, 5, weighting="quadratic", n_boot=0)
    assert plain["kappa"]["value"] == pytest.approx(ref.kappa[0], abs=1e-6)
    assert quad["kappa"]["value"] == pytest.approx(ref.kappa_quadratic[0], abs=1e-6)
    assert plain["percent_agreement"]["value"] == pytest.approx(float((human == judge).mean()))
    assert plain["confusion"][4][3] == int(((judge == 4) & (human == 3)).sum())


def test_human_majority_and_majority_accuracy():
    item = [1, 1, 1, 2, 2, 3, 3, 3]
    human = [0, 0, 2, 0, 2, 1, 1, 1]
    ids, major = human_majority(item, human, 3)
    assert ids.tolist() == [1, 2, 3] and major.tolist() == [0, -1, 1]  # item 2: tied
    judge = [0, 0, 0, 1, 1, 2, 2, 2]  # right on item 1, wrong on item 3
    labels = judge_human_labels(item, [0, 1, 2, 0, 1, 0, 1, 2], human, judge)
    acc = judge_agreement(labels, 3, n_boot=50)["majority_accuracy"]
    assert acc["value"] == 0.5 and acc["n"] == 2


def test_missing_categories_are_dropped_and_lengths_checked():
    labels = judge_human_labels([1, 2, 3], [0, 0, 0], [0, -1, 1], [0, 1, -1])
    assert labels.item.tolist() == [1]
    with pytest.raises(ValueError):
        judge_human_labels([1, 2], [0], [0, 1], [0, 1])


def test_swap_policies_by_hand():
    v1 = np.array([0, 0, 2, 1, -1, 0, -1])
    v2 = np.array([0, 2, 2, 0, 1, -1, -1])
    assert swap_status(v1, v2).tolist() == [
        "consistent",
        "inconsistent",
        "consistent",
        "inconsistent",
        "incomplete",
        "incomplete",
        "incomplete",
    ]
    assert aggregate_verdicts(v1, v2, "drop").tolist() == [0, -1, 2, -1, -1, -1, -1]
    assert aggregate_verdicts(v1, v2, "tie").tolist() == [0, 1, 2, 1, -1, -1, -1]
    assert aggregate_verdicts(v1, v2, "first").tolist() == [0, 0, 2, 1, -1, 0, -1]
    with pytest.raises(ValueError):
        aggregate_verdicts(v1, v2, "majority")  # type: ignore[arg-type]
    # Shown answers (0 = A, 2 = B) to canonical categories; order 2 shows them swapped.
    assert to_canonical([0, 2, 1, -1], [False, False, False, False]).tolist() == [2, 0, 1, -1]
    s = swap_consistency(v1, v2, n_boot=0)
    assert (s["n_complete"], s["n_consistent"], s["n_incomplete"]) == (4, 2, 3)
    # Position picks: order 1 picks 0 (first shown) 3 times of 4 decisive answers
    # (0, 0, 2, 0); order 2 picks 2 (first shown there) twice of 4 decisive (0, 2, 2, 0).
    assert s["first_position_rate"]["value"] == pytest.approx(5 / 8)


# --- simulated judges -------------------------------------------------------------------


def _world(human_types):
    return World(
        p_truth=np.array([0.45, 0.1, 0.45]),
        human=np.mean(human_types, axis=0),
        judge=noisy(0.75),  # the judge's error rate: 25%
        bias=0.15,  # and 15% of its answers pick the response shown first
        unparsable=0.05,
    )


def test_simulated_judge_kappa_swap_consistency_and_bias_within_their_intervals():
    types = [noisy(0.8)]
    world = _world(types)
    truth = {
        "kappa": world.kappa(),
        "swap": world.swap_rate(),
        "first": world.first_position_rate(),
        "majority": world.majority_accuracy(),
    }
    assert truth["first"] > 0.55  # the bias is there to be found
    rng = np.random.default_rng(1)
    reps = 200
    hits = dict.fromkeys(truth, 0)
    for r in range(reps):
        item, ann, human, v1, v2 = simulate(world, rng, 300, 30, types)
        judge = aggregate_verdicts(v1, v2, "drop")  # only consistent verdicts count
        labels = judge_human_labels(item, ann, human, judge[item])
        res = judge_agreement(labels, K, unit="item", n_boot=200, seed=r)
        swap = swap_consistency(v1, v2, n_boot=200, seed=r)
        hits["kappa"] += _covers(res["kappa"], truth["kappa"])
        hits["majority"] += _covers(res["majority_accuracy"], truth["majority"])
        hits["swap"] += _covers(swap["rate"], truth["swap"])
        hits["first"] += _covers(swap["first_position_rate"], truth["first"])
    for name, n in hits.items():
        assert n / reps >= 0.90, name


def test_profile_group_intervals_resample_annotators_too():
    # A group of 8 annotators drawn from a population of careful (90%) and careless
    # (50%) people: the group's figure depends on which people it happened to get.
    types = [noisy(0.9), noisy(0.5)]
    world = _world(types)
    truth = world.kappa()
    rng = np.random.default_rng(2)
    reps = 150
    both = items_only = 0
    for r in range(reps):
        item, ann, human, v1, v2 = simulate(world, rng, 300, 8, types)
        judge = aggregate_verdicts(v1, v2, "drop")
        labels = judge_human_labels(item, ann, human, judge[item])
        both += _covers(judge_agreement(labels, K, unit="both", n_boot=200, seed=r)["kappa"], truth)
        items_only += _covers(judge_agreement(labels, K, n_boot=200, seed=r)["kappa"], truth)
    assert both / reps >= 0.90
    assert items_only / reps < 0.75


def test_quadratic_kappa_for_ratings_within_its_interval():
    # 5-point ratings: humans off by one 30% of the time, the judge rates one point too
    # high 25% of the time (a lenient judge) and is otherwise off by one 20% of the time.
    k = 5
    p_truth = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    near = np.zeros((k, k))
    for t in range(k):
        for d in (-1, 1):
            if 0 <= t + d < k:
                near[t, t + d] = 1.0
    near /= near.sum(axis=1, keepdims=True)
    p_h = 0.7 * np.eye(k) + 0.3 * near
    up = np.roll(np.eye(k), 1, axis=1)
    up[-1] = np.eye(k)[-1]
    p_j = 0.55 * np.eye(k) + 0.25 * up + 0.2 * near
    joint = (p_truth[:, None, None] * p_j[:, :, None] * p_h[:, None, :]).sum(axis=0)
    truth = float(kappa_from_confusion(joint, "quadratic"))
    rng = np.random.default_rng(3)
    reps, hits = 200, 0

    def draw(p_rows):
        return (rng.random(len(p_rows))[:, None] > np.cumsum(p_rows, axis=1)).sum(axis=1)

    for r in range(reps):
        t = rng.choice(k, 250, p=p_truth)
        item = np.repeat(np.arange(250), 3)
        labels = judge_human_labels(
            item, rng.integers(0, 40, len(item)), draw(p_h[t[item]]), draw(p_j[t])[item]
        )
        res = judge_agreement(labels, k, weighting="quadratic", n_boot=200, seed=r)
        hits += _covers(res["kappa"], truth)
    assert hits / reps >= 0.90


def test_agreement_by_group_is_agreement_on_each_group():
    rng = np.random.default_rng(4)
    item = np.repeat(np.arange(100), 2)
    ann = rng.integers(0, 10, 200)
    human = rng.integers(0, 3, 200)
    judge = np.where(rng.random(200) < 0.7, human, rng.integers(0, 3, 200))
    labels = judge_human_labels(item, ann, human, judge)
    group = np.where(ann < 4, 0, np.where(ann < 9, 1, -1))  # annotator 9: unknown group
    rows = agreement_by_group(labels, 3, group, ["GB", "US"], unit="both", n_boot=50, seed=1)
    assert [r["group"] for r in rows] == ["GB", "US"]
    gb = judge_agreement(labels.subset(group == 0), 3, unit="both", n_boot=50, seed=1)
    assert rows[0]["kappa"] == gb["kappa"] and rows[0]["n_labels"] == int((group == 0).sum())
    assert rows[0]["unit"] == "both"
    assert sum(r["n_labels"] for r in rows) == int((group >= 0).sum())


def test_breakdowns_give_overall_and_each_grouping_with_its_unit():
    rng = np.random.default_rng(5)
    item = np.repeat(np.arange(60), 2)
    ann = rng.integers(0, 6, 120)
    human = rng.integers(0, 3, 120)
    labels = judge_human_labels(item, ann, human, np.where(rng.random(120) < 0.8, human, 1))
    language = item % 2  # an item attribute
    gender = np.where(ann < 3, 0, 1)  # an annotator attribute
    out = judge_agreement_breakdowns(
        labels,
        3,
        {
            "language": Breakdown(language, ["en", "de"], "item"),
            "gender": Breakdown(gender, ["f", "m"], "both"),
        },
        n_boot=40,
    )
    assert out["overall"]["n_labels"] == 120 and out["overall"]["unit"] == "item"
    assert [r["group"] for r in out["language"]] == ["en", "de"]
    assert {r["unit"] for r in out["gender"]} == {"both"}
    assert sum(r["n_labels"] for r in out["gender"]) == 120
