"""Each loss against a value worked out by hand (math module, not torch)."""

from __future__ import annotations

import math

import pytest
import torch

from modelserve.training.losses import (
    bradley_terry_loss,
    dpo_loss,
    expected_calibration_error,
    ipo_loss,
    listwise_dpo_loss,
    plackett_luce_loss,
    sequence_logps,
)


def nls(x: float) -> float:
    """-log sigmoid(x) = log(1 + e^-x)."""
    return math.log1p(math.exp(-x))


def lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


def t(*xs: float) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


def test_bradley_terry_by_hand():
    got = bradley_terry_loss(t(1.0, 0.0), t(0.0, 1.0))
    assert got.item() == pytest.approx((nls(1.0) + nls(-1.0)) / 2, abs=1e-9)
    with_margin = bradley_terry_loss(t(1.0, 0.0), t(0.0, 1.0), margin=t(0.5, 0.0))
    assert with_margin.item() == pytest.approx((nls(0.5) + nls(-1.0)) / 2, abs=1e-9)


def test_dpo_by_hand():
    loss, cr, rr = dpo_loss(
        t(-10.0, -5.0), t(-12.0, -4.0), t(-11.0, -5.0), t(-11.0, -5.0), beta=0.1
    )
    # Pair 1: rewards 0.1*(+1) and 0.1*(-1): logit 0.2. Pair 2: 0 and 0.1*(+1): logit -0.1.
    assert loss.item() == pytest.approx((nls(0.2) + nls(-0.1)) / 2, abs=1e-9)
    assert cr.tolist() == pytest.approx([0.1, 0.0])
    assert rr.tolist() == pytest.approx([-0.1, 0.1])
    smoothed, _, _ = dpo_loss(
        t(-10.0), t(-12.0), t(-11.0), t(-11.0), beta=0.1, label_smoothing=0.25
    )
    assert smoothed.item() == pytest.approx(0.75 * nls(0.2) + 0.25 * nls(-0.2), abs=1e-9)
    offset, _, _ = dpo_loss(t(-10.0), t(-12.0), t(-11.0), t(-11.0), beta=0.1, margin=t(0.5))
    assert offset.item() == pytest.approx(nls(0.2 - 0.5), abs=1e-9)


def test_ipo_by_hand():
    loss, _, _ = ipo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.0), beta=0.1)
    # h = (-1 - -2) - (-3 - -2) = 2; target 1/(2*0.1) = 5; (2 - 5)^2 = 9.
    assert loss.item() == pytest.approx(9.0)


def test_plackett_luce_without_and_with_ties():
    scores = t(3.0, 1.0, 2.0)
    full = plackett_luce_loss(
        scores[None], torch.tensor([[0, 1, 2]]), torch.ones(1, 3, dtype=torch.bool)
    )
    expected = -((3.0 - lse(3.0, 1.0, 2.0)) + (1.0 - lse(1.0, 2.0)))
    assert full.item() == pytest.approx(expected, abs=1e-9)
    # First two tied: Breslow term (3 + 1) - 2 * lse over all three; last group skipped.
    tied = plackett_luce_loss(
        scores[None], torch.tensor([[0, 0, 1]]), torch.ones(1, 3, dtype=torch.bool)
    )
    assert tied.item() == pytest.approx(-((3.0 + 1.0) - 2 * lse(3.0, 1.0, 2.0)), abs=1e-9)


def test_plackett_luce_masks_short_lists_and_matches_pairwise_dpo():
    # A two-item list is exactly the Bradley-Terry/DPO pair loss.
    scores = t(0.7, -0.2, 0.0, 5.0)
    groups = torch.tensor([[0, 1], [1, 0]])
    mask = torch.tensor([[True, True], [True, True]])
    got = plackett_luce_loss(scores.view(2, 2), groups, mask)
    assert got.item() == pytest.approx((nls(0.7 - -0.2) + nls(5.0 - 0.0)) / 2, abs=1e-9)
    # Padding entries never count, whatever their score.
    padded = plackett_luce_loss(
        t(0.7, -0.2, 99.0)[None], torch.tensor([[0, 1, 0]]), torch.tensor([[True, True, False]])
    )
    assert padded.item() == pytest.approx(nls(0.9), abs=1e-9)
    dpo_list = listwise_dpo_loss(
        t(-10.0, -12.0)[None],
        t(-11.0, -11.0)[None],
        torch.tensor([[0, 1]]),
        torch.tensor([[True, True]]),
        beta=0.1,
    )
    dpo_pair, _, _ = dpo_loss(t(-10.0), t(-12.0), t(-11.0), t(-11.0), beta=0.1)
    assert dpo_list.item() == pytest.approx(dpo_pair.item(), abs=1e-9)


def test_sequence_logps_by_hand():
    logits = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([2, -100])
    got = sequence_logps(logits, labels)
    assert got[0].item() == pytest.approx(2.0 - lse(0.0, 1.0, 2.0), abs=1e-6)
    assert got[1].item() == 0.0


def test_expected_calibration_error_by_hand():
    probs = t(0.9, 0.8, 0.3, 0.6)
    outcomes = t(1, 1, 1, 0)
    # Confidences 0.9, 0.8, 0.7, 0.6, each alone in its bin; right, right, wrong, wrong.
    expected = (abs(1 - 0.9) + abs(1 - 0.8) + abs(0 - 0.7) + abs(0 - 0.6)) / 4
    assert expected_calibration_error(probs, outcomes) == pytest.approx(expected, abs=1e-9)
    assert expected_calibration_error(t(0.75, 0.75), t(1, 0), n_bins=5) == pytest.approx(0.25)
