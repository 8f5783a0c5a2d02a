"""Bradley-Terry strengths of models from pairwise battles, with bootstrap intervals.

This follows the Chatbot Arena method (Chiang et al., 2024): a Bradley-Terry model is fit
by maximum likelihood on all battles, ties count as half a win for each side, and 95%
intervals are the 2.5/97.5 percentiles of the fits on battles resampled with replacement.
Strengths are reported on Arena's Elo-like scale: 1000 + 400 * log10(p), with the log
strengths centred to mean zero.

The fit is Hunter's (2004) minorise-maximise iteration on the win and battle count
matrices, run for all bootstrap resamples at once (arrays of shape (B, M, M)); resampling
draws the counts of each (model, model, outcome) cell from one multinomial, so its cost
does not grow with the number of battles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

SCALE = 400.0
INIT = 1000.0


@dataclass
class BTResult:
    strength: FloatArray  # Elo-like rating per model
    ci_low: FloatArray
    ci_high: FloatArray
    log_strength: FloatArray  # natural-log strengths, mean 0
    battles: IntArray
    wins: FloatArray  # ties count half
    n_battles: int


def _mm_fit(
    wins: FloatArray, games: FloatArray, prior: float, iters: int, tol: float
) -> FloatArray:
    """Log strengths for stacked (B, M, M) win/game matrices; mean-zero per row.

    ``prior`` adds that many virtual ties between each model and every other, which keeps
    a model with no wins (or no losses) finite; 0 gives the plain MLE.
    """
    b, m, _ = wins.shape
    off_diag = 1.0 - np.eye(m)
    w = wins + prior * 0.5 * off_diag
    g = games + prior * off_diag
    total_wins = w.sum(axis=2)
    p = np.ones((b, m))
    for _ in range(iters):
        denom = (g / (p[:, :, None] + p[:, None, :])).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(denom > 0, total_wins / denom, p)
        new = np.maximum(new, 1e-300)
        new /= np.exp(np.log(new).mean(axis=1, keepdims=True))
        delta = np.abs(np.log(new) - np.log(p)).max()
        p = new
        if delta < tol:
            break
    logp: FloatArray = np.log(p)
    return logp - logp.mean(axis=1, keepdims=True)


def bradley_terry(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    score_a: npt.ArrayLike,
    n_models: int,
    n_boot: int = 200,
    seed: int = 0,
    prior: float = 0.01,
    iters: int = 2000,
    tol: float = 1e-10,
) -> BTResult:
    """Fit on battles (model_a vs model_b, score_a in {1, 0.5, 0}); same-model battles ignored."""
    ma = np.asarray(model_a, dtype=np.int64).ravel()
    mb = np.asarray(model_b, dtype=np.int64).ravel()
    sa = np.asarray(score_a, dtype=np.float64).ravel()
    keep = ma != mb
    ma, mb, sa = ma[keep], mb[keep], sa[keep]
    m = n_models
    # Cells: (a, b, outcome code 0 = a wins, 1 = tie, 2 = b wins).
    code = np.where(sa > 0.75, 0, np.where(sa < 0.25, 2, 1))
    cell = (ma * m + mb) * 3 + code
    uniq, counts = np.unique(cell, return_counts=True)
    ca, cb, co = uniq // 3 // m, uniq // 3 % m, uniq % 3
    score = np.array([1.0, 0.5, 0.0])[co]

    def matrices(cnt: FloatArray) -> tuple[FloatArray, FloatArray]:
        # cnt: (B, cells) -> wins (B, M, M), games (B, M, M)
        nb = cnt.shape[0]
        wins = np.zeros((nb, m * m))
        games = np.zeros((nb, m * m))
        ab, ba = ca * m + cb, cb * m + ca
        np.add.at(wins.T, ab, (cnt * score).T)
        np.add.at(wins.T, ba, (cnt * (1.0 - score)).T)
        np.add.at(games.T, ab, cnt.T)
        np.add.at(games.T, ba, cnt.T)
        return wins.reshape(nb, m, m), games.reshape(nb, m, m)

    base = counts.astype(np.float64)[None, :]
    wins, games = matrices(base)
    logp = _mm_fit(wins, games, prior, iters, tol)[0]
    n = int(counts.sum())
    if n_boot > 0 and n > 0:
        rng = np.random.default_rng(seed)
        boot = rng.multinomial(n, counts / n, size=n_boot).astype(np.float64)
        bw, bg = matrices(boot)
        # Percentiles of 200 resamples do not need the point fit's precision.
        boot_logp = _mm_fit(bw, bg, prior, iters, max(tol, 1e-7))
        elo_boot = INIT + SCALE / np.log(10.0) * boot_logp
        lo, hi = np.percentile(elo_boot, [2.5, 97.5], axis=0)
    else:
        lo = hi = np.full(m, np.nan)
    battles = games[0].sum(axis=1).astype(np.int64)
    return BTResult(
        strength=INIT + SCALE / np.log(10.0) * logp,
        ci_low=np.asarray(lo, dtype=np.float64),
        ci_high=np.asarray(hi, dtype=np.float64),
        log_strength=logp,
        battles=battles,
        wins=wins[0].sum(axis=1),
        n_battles=n,
    )


def leaderboard(result: BTResult, names: list[str]) -> list[dict[str, object]]:
    """Rows sorted by strength; models with no battles are left out."""
    rows = []
    for i in np.argsort(-result.strength):
        if result.battles[i] == 0:
            continue
        rows.append(
            {
                "model": names[i],
                "rating": round(float(result.strength[i]), 2),
                "ci": [_r(result.ci_low[i]), _r(result.ci_high[i])],
                "battles": int(result.battles[i]),
                "win_rate": round(float(result.wins[i] / result.battles[i]), 4),
            }
        )
    return rows


def _r(x: float) -> float | None:
    return round(float(x), 2) if np.isfinite(x) else None
