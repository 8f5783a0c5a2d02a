"""Preference losses as pure tensor functions (no models, no state), each checked in
tests against a hand computation.

Conventions: ``*_logps`` are per-sequence sums of token log-probabilities of the
completion under the policy or the reference; ``margin`` is a per-pair offset in logit
units (annotator strength); every loss returns ``(loss, chosen_rewards, rejected_rewards)``
with the mean loss over the batch and the implicit rewards detached, as TRL does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .metrics import binned_ece, margin_correct


def bradley_terry_loss(
    chosen_scores: Tensor, rejected_scores: Tensor, margin: Tensor | None = None
) -> Tensor:
    """Reward-model loss: -log sigmoid(r_c - r_r - margin), mean over pairs."""
    diff = chosen_scores - rejected_scores
    if margin is not None:
        diff = diff - margin
    return -F.logsigmoid(diff).mean()


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    *,
    beta: float = 0.1,
    margin: Tensor | None = None,
    label_smoothing: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """DPO (Rafailov et al. 2023): -log sigmoid(beta * (dlogp_c - dlogp_r) - margin).

    With ``margin`` this is ODPO-style: a strongly preferred pair must be separated by more.
    ``label_smoothing`` is conservative DPO (cDPO): the label is wrong with that probability.
    """
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    logits = chosen_rewards - rejected_rewards
    if margin is not None:
        logits = logits - margin
    losses = -F.logsigmoid(logits) * (1 - label_smoothing) - F.logsigmoid(-logits) * label_smoothing
    return losses.mean(), chosen_rewards.detach(), rejected_rewards.detach()


def ipo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    *,
    beta: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """IPO (Azar et al. 2023): (h - 1/(2 beta))^2 with h the difference of log-ratios.

    IPO is meant for length-averaged log-probs: pass per-token means, not sums."""
    h = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    losses = (h - 1.0 / (2.0 * beta)) ** 2
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    return losses.mean(), chosen_rewards.detach(), rejected_rewards.detach()


def plackett_luce_loss(scores: Tensor, rank_groups: Tensor, mask: Tensor) -> Tensor:
    """Listwise negative log-likelihood of a ranking with ties, Breslow's approximation.

    scores: [B, K] (implicit rewards or reward-model scores), rank_groups: [B, K] integer
    group index (0 = best; tied responses share it), mask: [B, K] bool for real entries.
    For each group g with members S_g and R_g = members of groups >= g:
        nll_g = -(sum_{i in S_g} s_i - |S_g| * logsumexp_{j in R_g} s_j)
    The last group is skipped (there is nothing below it to beat). With no ties this is the
    Plackett-Luce DPO objective (Rafailov et al., appendix A.3). Mean over lists.
    """
    neg_inf = torch.finfo(scores.dtype).min
    total = scores.new_zeros(scores.shape[0])
    last = torch.where(mask, rank_groups, torch.full_like(rank_groups, -1)).amax(dim=1)
    for g in range(int(last.max().item()) if scores.numel() else 0):
        in_g = mask & (rank_groups == g)
        at_or_below = mask & (rank_groups >= g)
        lse = torch.logsumexp(scores.masked_fill(~at_or_below, neg_inf), dim=1)
        size = in_g.sum(dim=1)
        term = (scores * in_g).sum(dim=1) - size * lse
        # A list whose last group is g (or that has no group g) contributes nothing here.
        active = (size > 0) & (last > g)
        total = total + torch.where(active, term, torch.zeros_like(term))
    return -total.mean()


def listwise_dpo_loss(
    policy_logps: Tensor,
    ref_logps: Tensor,
    rank_groups: Tensor,
    mask: Tensor,
    *,
    beta: float = 0.1,
) -> Tensor:
    """Plackett-Luce DPO: the listwise loss on implicit rewards beta * (logp - ref)."""
    return plackett_luce_loss(beta * (policy_logps - ref_logps), rank_groups, mask)


def sequence_logps(logits: Tensor, labels: Tensor) -> Tensor:
    """Sum of log p(label) per row; positions with label -100 are ignored.

    logits [N, V] and labels [N] already aligned (the caller shifted them); returns [N]
    token log-probs with zeros at ignored positions."""
    valid = labels != -100
    safe = labels.clamp(min=0)
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return logp * valid


def expected_calibration_error(probs: Tensor, outcomes: Tensor, n_bins: int = 10) -> float:
    """ECE of predicted P(first preferred): sum_b |B_b|/n * |acc_b - conf_b|.

    ``probs`` is P(first preferred) and ``outcomes`` 1 where the first was preferred. The
    prediction is folded to the predicted side (confidence max(p, 1 - p), bins over
    [0.5, 1]), and a pair is graded as ``metrics.margin_correct`` grades accuracy: p = 0.5
    (a zero margin) is half right. Prefer ``metrics.calibration_error`` on margins, which
    cannot round a tiny margin to p = 0.5."""
    p = probs.detach().double().cpu()
    conf = torch.maximum(p, 1 - p)
    return binned_ece(conf, margin_correct(p - 0.5, outcomes), n_bins)
