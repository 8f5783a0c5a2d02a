"""The simulated crowd's truths are right, and analytics recovers them (no Django).

Labels are drawn from the simulated people directly, fed to annotate.analytics
(Bradley-Terry strengths, ratings-vs-rankings consistency), and the recovered figures
must match the simulated truth within sampling error.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from annotate.analytics.bradley_terry import bradley_terry
from annotate.analytics.consistency import Judgments, Ratings, within_annotator
from annotate.simulation.model import (
    CrowdConfig,
    Judge,
    choice_probs,
    draw_people,
    expected_consistency,
    make_response,
    rating_dist,
    true_model_order,
)

CONFIG = CrowdConfig(
    quality=(1.0, 0.4, -0.1, -0.8),
    group_shift={"18-24": {3: 2.0}},  # the youngest group likes the weakest model
    seed=3,
)


def test_closed_forms_match_sampling():
    person = draw_people(CONFIG, 1)[0]
    a, b = make_response(CONFIG, 1, 0), make_response(CONFIG, 2, 2)
    judge = Judge(CONFIG, person)
    n = 20000
    outcomes = [judge.pairwise(a, b)[0] for _ in range(n)]
    sampled = np.array([outcomes.count(o) / n for o in ("A", "tie", "B")])
    assert np.abs(sampled - choice_probs(CONFIG, person, a, b)).max() < 0.015
    ratings = np.bincount([judge.rating(a) for _ in range(n)], minlength=8)[1:] / n
    assert np.abs(ratings - rating_dist(CONFIG, person, a)).max() < 0.015
    assert abs(rating_dist(CONFIG, person, a).sum() - 1) < 1e-9


def _simulate(n_people: int, n_prompts: int, n_models: int):
    people = draw_people(CONFIG, n_people)
    responses = {
        (p, k): make_response(CONFIG, p * n_models + k, k)
        for p in range(n_prompts)
        for k in range(n_models)
    }
    j_rows, r_rows, truth, battles = [], [], [], []
    t = 0.0
    for person in people:
        judge = Judge(CONFIG, person)
        for p in range(n_prompts):
            for k in range(n_models):
                r = responses[p, k]
                r_rows.append((person.index, r.id, judge.rating(r), t))
                t += 1
            for i, j in itertools.combinations(range(n_models), 2):
                a, b = responses[p, i], responses[p, j]
                if (person.index + p + i) % 2:  # shown in either order
                    a, b = b, a
                choice, _ = judge.pairwise(a, b)
                code = {"A": 1, "tie": 0, "B": -1}[choice]
                j_rows.append((person.index, a.id, b.id, code, t))
                battles.append((a.model, b.model, (code + 1) / 2))
                truth.append(expected_consistency(CONFIG, person, a, b))
                t += 1
    return people, j_rows, r_rows, truth, battles


def test_analytics_recover_ranking_and_inconsistency():
    people, j_rows, r_rows, truth, battles = _simulate(n_people=120, n_prompts=8, n_models=4)
    ja = np.array(j_rows, dtype=float)
    ra = np.array(r_rows, dtype=float)
    judgments = Judgments(
        annotator=ja[:, 0].astype(np.int64),
        a=ja[:, 1].astype(np.int64),
        b=ja[:, 2].astype(np.int64),
        outcome=ja[:, 3].astype(np.int64),
        order=ja[:, 4],
        label=np.arange(len(ja), dtype=np.int64),
    )
    ratings = Ratings(
        annotator=ra[:, 0].astype(np.int64),
        response=ra[:, 1].astype(np.int64),
        value=ra[:, 2],
        order=ra[:, 3],
        label=np.arange(len(ra), dtype=np.int64),
    )
    result = within_annotator(judgments, ratings)
    assert result.n_pairs == len(truth)
    expected = float(np.mean(truth))
    se = math.sqrt(sum(p * (1 - p) for p in truth)) / len(truth)
    assert abs(result.rate - expected) < 3.5 * se, (result.rate, expected, se)
    # Deliberate inconsistency is visible: clearly below a perfectly consistent rater.
    assert expected < 0.8

    bt = np.array(battles)
    fit = bradley_terry(bt[:, 0], bt[:, 1], bt[:, 2], 4, n_boot=100)
    recovered = list(np.argsort(-fit.strength))
    assert recovered == true_model_order(CONFIG, people)
    # Each true gap is inside the bootstrap interval's reach: neighbours are separated.
    for better, worse in itertools.pairwise(recovered):
        assert (
            fit.ci_low[better] > fit.strength[worse] - 1e-9
            or fit.strength[better] > (fit.strength[worse])
        )


def test_group_preferences_are_recovered_per_group():
    young = [p for p in draw_people(CONFIG, 400) if p.group == "18-24"][:60]
    assert young
    rng_battles = []
    for person in young:
        judge = Judge(CONFIG, person)
        for p in range(6):
            rs = [make_response(CONFIG, 1000 + p * 4 + k, k) for k in range(4)]
            for i, j in itertools.combinations(range(4), 2):
                choice, _ = judge.pairwise(rs[i], rs[j])
                rng_battles.append((i, j, {"A": 1.0, "tie": 0.5, "B": 0.0}[choice]))
    bt = np.array(rng_battles)
    fit = bradley_terry(bt[:, 0], bt[:, 1], bt[:, 2], 4, n_boot=0)
    # For this group model 3 (quality -0.8 + 2.0 = 1.2) beats model 0 (1.0)... narrowly;
    # it must at least beat models 1 and 2, which it loses to in the population.
    assert fit.strength[3] > fit.strength[1] > fit.strength[2]
    assert true_model_order(CONFIG, young)[0] in (0, 3)


def test_percent_agreement_matches_truth():
    from annotate.analytics.agreement import category_counts, percent_agreement
    from annotate.simulation.model import expected_agreement

    people = draw_people(CONFIG, 6)
    units, cats, truth = [], [], []
    for item in range(150):
        a, b = (
            make_response(CONFIG, 5000 + 2 * item, item % 4),
            make_response(CONFIG, 5001 + 2 * item, (item + 1) % 4),
        )
        for p in people:
            choice, _ = Judge(CONFIG, p).pairwise(a, b)
            units.append(item)
            cats.append({"A": 0, "tie": 1, "B": 2}[choice])
        truth.append(
            np.mean(
                [
                    expected_agreement(CONFIG, p, q, a, b)
                    for i, p in enumerate(people)
                    for q in people[i + 1 :]
                ]
            )
        )
    measured = percent_agreement(category_counts(np.array(units), np.array(cats), 3))
    per_item_sd = float(np.std(truth)) + 0.15  # generous: 15 rater pairs per item
    assert abs(measured - float(np.mean(truth))) < 3.5 * per_item_sd / math.sqrt(150)
