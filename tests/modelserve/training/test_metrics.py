"""Accuracy and ECE grade a zero margin the same way (half right), on hand examples and on
a simulated scorer with known truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modelserve.training.losses import expected_calibration_error
from modelserve.training.metrics import (
    binned_ece,
    calibration_error,
    margin_correct,
    pairwise_accuracy,
    pairwise_accuracy_on_device,
)


def test_margin_correct_by_hand():
    assert margin_correct([2.0, 0.0, -1.0, 0.0]).tolist() == [1.0, 0.5, 0.0, 0.5]
    # outcomes 0 mean the second was preferred: the margin's sign flips.
    assert margin_correct([2.0, 0.0, -1.0], [0, 0, 0]).tolist() == [0.0, 0.5, 1.0]
    assert pairwise_accuracy([2.0, 0.0, -1.0, 0.0]) == 0.5
    assert pairwise_accuracy([]) is None


def test_accuracy_on_device_grades_as_on_the_host():
    margins = torch.tensor([2.0, 0.0, -1.0, 0.0, 3.0, -0.5, 1e-20])
    on_device = pairwise_accuracy_on_device(margins)
    assert isinstance(on_device, torch.Tensor) and on_device.dim() == 0
    assert on_device.item() == pytest.approx(pairwise_accuracy(margins))


def test_zero_margins_are_graded_alike_by_accuracy_and_ece():
    # A scorer that scores every pair equal (a DPO policy equal to its reference): half
    # right, and it says so (confidence 1/2), so it is perfectly calibrated.
    zeros = torch.zeros(10)
    assert pairwise_accuracy(zeros) == 0.5
    assert calibration_error(zeros) == 0.0
    assert expected_calibration_error(torch.sigmoid(zeros), torch.ones(10)) == 0.0
    # A margin too small to move a float32 sigmoid off 1/2 is still a positive margin:
    # both metrics grade it from the margin, so it is right for both.
    tiny = torch.tensor([1e-20], dtype=torch.float32)
    assert torch.sigmoid(tiny).item() == 0.5
    assert pairwise_accuracy(tiny) == 1.0
    assert calibration_error(tiny) == pytest.approx(0.5)  # confidence 1/2, right


def test_ece_by_hand_and_same_grading_as_accuracy():
    m = np.array([np.log(9.0), np.log(4.0), -np.log(7.0 / 3.0), 0.0])
    # Confidences 0.9, 0.8, 0.7, 0.5 alone in their bins; right, right, wrong, half.
    expected = (0.1 + 0.2 + 0.7 + 0.0) / 4
    assert calibration_error(m) == pytest.approx(expected)
    # With one bin ECE is |accuracy - mean confidence|: the grading is the accuracy's.
    conf = 1.0 / (1.0 + np.exp(-np.abs(m)))
    assert calibration_error(m, n_bins=1) == pytest.approx(abs(pairwise_accuracy(m) - conf.mean()))
    assert binned_ece([0.75, 0.75], [1.0, 0.0], n_bins=5) == pytest.approx(0.25)


def _calibrated_scorer(rng, n):
    """Margins score(chosen) - score(rejected) of a perfectly calibrated scorer, as the
    refit sees them (pairs oriented chosen first): the scorer's margin between two
    responses lies on a coarse grid (exact ties are common, P(tie) = 1/3) and the
    annotator prefers the higher-scored one with probability sigmoid(|margin|)."""
    grid = np.array([-2.0, -1.0, -0.5, 0.0, 0.0, 0.0, 0.5, 1.0, 2.0])
    m = rng.choice(grid, n)
    first_chosen = rng.random(n) < 1.0 / (1.0 + np.exp(-m))
    return np.where(first_chosen, m, -m)


def test_accuracy_interval_covers_true_accuracy_and_ece_vanishes_for_a_calibrated_scorer():
    # Truth: expected grade E[correct] = E[sigmoid(|m|)] with ties worth 1/2.
    grid = np.array([-2.0, -1.0, -0.5, 0.0, 0.0, 0.0, 0.5, 1.0, 2.0])
    truth = float(np.mean(1.0 / (1.0 + np.exp(-np.abs(grid)))))
    rng = np.random.default_rng(4)
    # 400 replications: coverage standard error ~0.011, so >= 0.90 is an honest bound.
    reps, n, hits, hits_old = 400, 500, 0, 0
    for _ in range(reps):
        c = margin_correct(_calibrated_scorer(rng, n))
        hits += abs(c.mean() - truth) <= 1.96 * c.std(ddof=1) / np.sqrt(n)
        old = (_calibrated_scorer(rng, n) > 0).astype(np.float64)  # the old: a tie is wrong
        hits_old += abs(old.mean() - truth) <= 1.96 * old.std(ddof=1) / np.sqrt(n)
    assert hits / reps >= 0.90
    assert hits_old / reps < 0.05
    diff = _calibrated_scorer(rng, 200_000)
    assert calibration_error(diff) < 0.01
    assert (
        expected_calibration_error(torch.sigmoid(torch.tensor(diff)), torch.ones(len(diff))) < 0.01
    )
    # The old ECE graded a tie (p >= 0.5 with outcome 1) as right: off by P(tie) / 2.
    p = 1.0 / (1.0 + np.exp(-diff))
    old_ece = binned_ece(np.maximum(p, 1 - p), (p >= 0.5).astype(np.float64))
    assert old_ece == pytest.approx(1.0 / 6.0, abs=0.01)
