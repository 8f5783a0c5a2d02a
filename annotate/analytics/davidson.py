"""Davidson's (1970) extension of Bradley-Terry with an explicit tie parameter.

With strengths pi_i > 0 and a tie parameter nu >= 0, a battle between i and j ends

    P(i wins) = pi_i / D_ij,   P(tie) = nu * sqrt(pi_i * pi_j) / D_ij,
    D_ij = pi_i + pi_j + nu * sqrt(pi_i * pi_j),

so, given that a battle was not a tie, P(i wins) = pi_i / (pi_i + pi_j) as in plain
Bradley-Terry, and the strengths are on the same scale as the half-win fit. Counting a tie
as half a win for each side (the Chatbot Arena convention, ``bradley_terry`` default)
instead treats a tie as a coin flip between two outcomes that did not happen; where ties
are common the two fits differ, which is why the leaderboard reports both.

The maximum-likelihood equations give Davidson's fixed-point iteration, run for stacked
(B, M, M) count matrices (all bootstrap resamples at once):

    W_i  = sum_j (wins_ij + ties_ij / 2)
    pi_i <- W_i / sum_j n_ij (1 + nu / 2 * sqrt(pi_j / pi_i)) / D_ij
    nu   <- T / sum_{i<j} n_ij sqrt(pi_i pi_j) / D_ij,      T = number of ties

with n_ij = battles between i and j. ``prior`` adds that many virtual ties to every pair
(it keeps strengths finite for a model that never won or never lost, and nu positive).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def davidson_fit(
    wins: FloatArray,
    ties: FloatArray,
    prior: float = 0.01,
    iters: int = 5000,
    tol: float = 1e-10,
) -> tuple[FloatArray, FloatArray]:
    """(log strengths (B, M) with mean 0 per row, nu (B,)) for stacked count matrices.

    ``wins[b, i, j]`` counts battles i won against j; ``ties[b, i, j]`` ties between i and
    j, symmetric (each tie counted in both [i, j] and [j, i]).
    """
    b, m, _ = wins.shape
    off_diag = 1.0 - np.eye(m)
    t = ties + prior * off_diag
    games = wins + np.swapaxes(wins, 1, 2) + t
    total_w = wins.sum(axis=2) + 0.5 * t.sum(axis=2)
    n_ties = 0.5 * t.sum(axis=(1, 2))
    p = np.ones((b, m))
    nu = np.ones(b)
    for _ in range(iters):
        sq = np.sqrt(p[:, :, None] * p[:, None, :])
        d = p[:, :, None] + p[:, None, :] + nu[:, None, None] * sq
        ratio = np.sqrt(p[:, None, :] / p[:, :, None])
        denom = (games * (1.0 + 0.5 * nu[:, None, None] * ratio) / d).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            new_p = np.where(denom > 0, total_w / denom, p)
        new_p = np.maximum(new_p, 1e-300)
        new_p /= np.exp(np.log(new_p).mean(axis=1, keepdims=True))
        sq = np.sqrt(new_p[:, :, None] * new_p[:, None, :])
        d = new_p[:, :, None] + new_p[:, None, :] + nu[:, None, None] * sq
        # sum over i < j is half the sum over i != j (the summand is symmetric).
        s = 0.5 * (games * sq / d).sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            new_nu = np.where(s > 0, n_ties / s, nu)
        delta = max(
            float(np.abs(np.log(new_p) - np.log(p)).max()),
            float(
                np.abs(np.log(np.maximum(new_nu, 1e-300)) - np.log(np.maximum(nu, 1e-300))).max()
            ),
        )
        p, nu = new_p, new_nu
        if delta < tol:
            break
    logp: FloatArray = np.log(p)
    return logp - logp.mean(axis=1, keepdims=True), np.asarray(nu, dtype=np.float64)
