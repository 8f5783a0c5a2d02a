"""Bradley-Terry strengths of models from pairwise battles, with bootstrap intervals.

This follows the Chatbot Arena method (Chiang et al., 2024): a Bradley-Terry model is fit
by maximum likelihood on all battles, and 95% intervals are the 2.5/97.5 percentiles of
the fits on resampled data. Strengths are reported on Arena's Elo-like scale:
1000 + 400 * log10(p), with the log strengths centred to mean zero.

Ties: ``ties="half"`` (default, Arena's convention) counts a tie as half a win for each
side; ``ties="davidson"`` fits Davidson's tie model (``davidson.py``), which also estimates
the tie parameter nu. The report gives both.

Unit of resampling: the *cluster*. A ranking of K responses implies K(K-1)/2 pairs that
are not independent battles (they share the ranking's draws: under Plackett-Luce the
number of models a response beats has variance (K^2-1)/12 instead of the binomial
(K-1)/4), so resampling pairs made intervals too narrow (85% coverage for a nominal 95%
in simulation). Pass ``cluster`` (e.g. the label each battle came from) and whole
clusters are resampled; without it every battle is its own cluster.

The fit is Hunter's (2004) minorise-maximise iteration on the win and battle count
matrices, run for all bootstrap resamples at once (arrays of shape (B, M, M)). Clusters
with the same multiset of (model, model, outcome) cells are one pattern, and resampling
draws pattern counts from one multinomial, so the cost does not grow with the number of
battles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .davidson import davidson_fit
from .resample import pattern_weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Ties = Literal["half", "davidson"]

SCALE = 400.0
INIT = 1000.0
ELO = SCALE / np.log(10.0)


@dataclass
class BTResult:
    strength: FloatArray  # Elo-like rating per model
    ci_low: FloatArray
    ci_high: FloatArray
    log_strength: FloatArray  # natural-log strengths, mean 0
    battles: IntArray
    wins: FloatArray  # ties count half
    n_battles: int
    ties: str = "half"
    n_clusters: int = 0  # resampled units (battles when no clusters were given)
    nu: float | None = None  # Davidson's tie parameter (ties="davidson")
    nu_ci: tuple[float, float] = (float("nan"), float("nan"))


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


def _cluster_boot_counts(
    cell: IntArray, cluster: npt.NDArray[np.generic], n_cells: int, n_boot: int, seed: int
) -> tuple[FloatArray, int]:
    """(n_boot, n_cells) cell counts of resamples of whole clusters, and the cluster count."""
    _, cl = np.unique(cluster, return_inverse=True)
    order = np.lexsort((cell, cl))
    cl_s, cell_s = cl[order], cell[order]
    starts = np.flatnonzero(np.r_[True, cl_s[1:] != cl_s[:-1]])
    sizes = np.diff(np.r_[starts, len(cl_s)])
    rows, cols, mults = [], [], []
    n_pat = 0
    for size in np.unique(sizes):
        first = starts[sizes == size]
        # Each cluster's cells, sorted: identical rows are identical clusters.
        members = cell_s[first[:, None] + np.arange(size)[None, :]]
        pats, mult = np.unique(members, axis=0, return_counts=True)
        rows.append(np.repeat(np.arange(len(pats)) + n_pat, size))
        cols.append(pats.ravel())
        mults.append(mult)
        n_pat += len(pats)
    r, c = np.concatenate(rows), np.concatenate(cols)
    # Duplicate (pattern, cell) entries are summed: a cluster may hold a cell twice.
    pattern_cells = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_pat, n_cells))
    w = pattern_weights(np.random.default_rng(seed), np.concatenate(mults), n_boot)
    return np.asarray((pattern_cells.T @ w.T).T, dtype=np.float64), len(starts)


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
    cluster: npt.ArrayLike | None = None,
    ties: Ties = "half",
) -> BTResult:
    """Fit on battles (model_a vs model_b, score_a in {1, 0.5, 0}); same-model battles ignored.

    ``cluster``: one id per battle; battles with one id (the pairs one ranking implies)
    are resampled together. ``ties``: "half" or "davidson" (see the module docstring).
    """
    ma = np.asarray(model_a, dtype=np.int64).ravel()
    mb = np.asarray(model_b, dtype=np.int64).ravel()
    sa = np.asarray(score_a, dtype=np.float64).ravel()
    keep = ma != mb
    ma, mb, sa = ma[keep], mb[keep], sa[keep]
    m = n_models
    # Cells: (a, b, outcome code 0 = a wins, 1 = tie, 2 = b wins).
    code = np.where(sa > 0.75, 0, np.where(sa < 0.25, 2, 1))
    cell = (ma * m + mb) * 3 + code
    uniq, cell_idx, counts = np.unique(cell, return_inverse=True, return_counts=True)
    ca, cb, co = uniq // 3 // m, uniq // 3 % m, uniq % 3
    score = np.array([1.0, 0.5, 0.0])[co]
    ab, ba = ca * m + cb, cb * m + ca

    def add(target: FloatArray, idx: IntArray, cnt: FloatArray) -> None:
        np.add.at(target.T, idx, cnt.T)

    def half_matrices(cnt: FloatArray) -> tuple[FloatArray, FloatArray]:
        # cnt: (B, cells) -> wins with ties as halves (B, M, M), games (B, M, M)
        nb = cnt.shape[0]
        wins, games = np.zeros((nb, m * m)), np.zeros((nb, m * m))
        add(wins, ab, cnt * score)
        add(wins, ba, cnt * (1.0 - score))
        add(games, ab, cnt)
        add(games, ba, cnt)
        return wins.reshape(nb, m, m), games.reshape(nb, m, m)

    def tie_matrices(cnt: FloatArray) -> tuple[FloatArray, FloatArray]:
        # cnt: (B, cells) -> strict wins (B, M, M), symmetric ties (B, M, M)
        nb = cnt.shape[0]
        wins, tie = np.zeros((nb, m * m)), np.zeros((nb, m * m))
        add(wins, ab, cnt * (co == 0))
        add(wins, ba, cnt * (co == 2))
        add(tie, ab, cnt * (co == 1))
        add(tie, ba, cnt * (co == 1))
        return wins.reshape(nb, m, m), tie.reshape(nb, m, m)

    def fit(cnt: FloatArray, tolerance: float) -> tuple[FloatArray, FloatArray | None]:
        if ties == "davidson":
            w, t = tie_matrices(cnt)
            return davidson_fit(w, t, prior, max(iters, 5000), tolerance)
        w, g = half_matrices(cnt)
        return _mm_fit(w, g, prior, iters, tolerance), None

    base = counts.astype(np.float64)[None, :]
    logp_all, nu_all = fit(base, tol)
    logp = logp_all[0]
    n = int(counts.sum())
    n_clusters = n
    nu_lo = nu_hi = float("nan")
    if n_boot > 0 and n > 0:
        if cluster is None:
            rng = np.random.default_rng(seed)
            boot = rng.multinomial(n, counts / n, size=n_boot).astype(np.float64)
        else:
            cl = np.asarray(cluster).ravel()[keep]
            boot, n_clusters = _cluster_boot_counts(cell_idx, cl, len(uniq), n_boot, seed)
        # Percentiles of 200 resamples do not need the point fit's precision.
        boot_logp, boot_nu = fit(boot, max(tol, 1e-7))
        lo, hi = np.percentile(INIT + ELO * boot_logp, [2.5, 97.5], axis=0)
        if boot_nu is not None:
            nu_lo, nu_hi = (float(x) for x in np.percentile(boot_nu, [2.5, 97.5]))
    else:
        lo = hi = np.full(m, np.nan)
        if cluster is not None:
            n_clusters = len(np.unique(np.asarray(cluster).ravel()[keep]))
    wins, games = half_matrices(base)
    return BTResult(
        strength=INIT + ELO * logp,
        ci_low=np.asarray(lo, dtype=np.float64),
        ci_high=np.asarray(hi, dtype=np.float64),
        log_strength=logp,
        battles=games[0].sum(axis=1).astype(np.int64),
        wins=wins[0].sum(axis=1),
        n_battles=n,
        ties=ties,
        n_clusters=n_clusters,
        nu=None if nu_all is None else float(nu_all[0]),
        nu_ci=(nu_lo, nu_hi),
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
