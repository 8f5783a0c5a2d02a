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


@dataclass(frozen=True)
class Battles:
    """Battles prepared once for many fits (bootstraps, per-group subsets, tie models).

    A *cell* is a distinct (model a, model b, outcome) triple; a *pattern* is a distinct
    multiset of cells, the content of one cluster. Resampling clusters is a multinomial
    over patterns, so a fit never touches individual battles.
    """

    n_models: int
    cell_a: IntArray  # per cell
    cell_b: IntArray
    cell_outcome: IntArray  # 0 = a wins, 1 = tie, 2 = b wins
    battle_cell: IntArray  # per battle kept (same-model battles are dropped)
    battle_kept: npt.NDArray[np.bool_]  # per battle given: kept?
    battle_cluster: IntArray  # dense cluster code per battle kept
    cluster_pattern: IntArray  # per cluster
    pattern_cells: sparse.csr_matrix  # (patterns, cells) counts


def _patterns(cell: IntArray, cl: IntArray, n_cells: int) -> tuple[IntArray, sparse.csr_matrix]:
    """(pattern id per cluster, pattern x cell counts) for dense cluster codes ``cl``."""
    order = np.lexsort((cell, cl))
    cl_s, cell_s = cl[order], cell[order]
    starts = np.flatnonzero(np.r_[True, cl_s[1:] != cl_s[:-1]])
    sizes = np.diff(np.r_[starts, len(cl_s)])
    cluster_pattern = np.zeros(len(starts), dtype=np.int64)
    rows, cols = [], []
    n_pat = 0
    for size in np.unique(sizes):
        which = np.flatnonzero(sizes == size)
        # Each cluster's cells, sorted: identical rows are identical clusters.
        members = cell_s[starts[which][:, None] + np.arange(size)[None, :]]
        if float(n_cells) ** size < 2.0**62:
            # One integer key per row (base n_cells) is much faster than unique(axis=0).
            key = members @ (n_cells ** np.arange(size, dtype=np.int64))
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
            pats = members[first]
        else:
            pats, inv = np.unique(members, axis=0, return_inverse=True)
        cluster_pattern[which] = inv.ravel() + n_pat
        rows.append(np.repeat(np.arange(len(pats)) + n_pat, size))
        cols.append(pats.ravel())
        n_pat += len(pats)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    # Duplicate (pattern, cell) entries are summed: a cluster may hold a cell twice.
    pattern_cells = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_pat, n_cells))
    return cluster_pattern, pattern_cells


def prepare_battles(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    score_a: npt.ArrayLike,
    n_models: int,
    cluster: npt.ArrayLike | None = None,
) -> Battles:
    """Battles (model_a vs model_b, score_a in {1, 0.5, 0}); same-model battles dropped.

    ``cluster``: one id per battle; battles with one id are resampled together.
    """
    ma = np.asarray(model_a, dtype=np.int64).ravel()
    mb = np.asarray(model_b, dtype=np.int64).ravel()
    sa = np.asarray(score_a, dtype=np.float64).ravel()
    keep = ma != mb
    ma, mb, sa = ma[keep], mb[keep], sa[keep]
    m = n_models
    code = np.where(sa > 0.75, 0, np.where(sa < 0.25, 2, 1))
    uniq, cell = np.unique((ma * m + mb) * 3 + code, return_inverse=True)
    cell = cell.astype(np.int64).ravel()
    n_cells = len(uniq)
    if cluster is None:
        # Every battle its own cluster: the patterns are the cells.
        cl = np.arange(len(cell), dtype=np.int64)
        cluster_pattern = cell
        pattern_cells = sparse.identity(n_cells, format="csr")
    else:
        _, cl = np.unique(np.asarray(cluster).ravel()[keep], return_inverse=True)
        cl = cl.astype(np.int64).ravel()
        cluster_pattern, pattern_cells = _patterns(cell, cl, n_cells)
    return Battles(
        n_models=m,
        cell_a=(uniq // 3 // m).astype(np.int64),
        cell_b=(uniq // 3 % m).astype(np.int64),
        cell_outcome=(uniq % 3).astype(np.int64),
        battle_cell=cell,
        battle_kept=keep,
        battle_cluster=cl,
        cluster_pattern=cluster_pattern,
        pattern_cells=pattern_cells,
    )


def fit_battles(
    battles: Battles,
    *,
    ties: tuple[Ties, ...] = ("half",),
    subset: npt.ArrayLike | None = None,
    n_boot: int = 200,
    seed: int = 0,
    prior: float = 0.01,
    iters: int = 2000,
    tol: float = 1e-10,
) -> dict[str, BTResult]:
    """One result per tie model in ``ties``, all from the same resamples.

    ``subset``: a mask over the battles given to ``prepare_battles`` (e.g. one group's);
    it must take whole clusters.
    """
    b = battles
    m = b.n_models
    n_cells = len(b.cell_a)
    n_clusters_all = len(b.cluster_pattern)
    if subset is None:
        in_cluster = np.ones(n_clusters_all, dtype=bool)
        battle_in = np.ones(len(b.battle_cell), dtype=bool)
    else:
        battle_in = np.asarray(subset, dtype=bool).ravel()[b.battle_kept]
        hits = np.bincount(b.battle_cluster, weights=battle_in, minlength=n_clusters_all)
        size = np.bincount(b.battle_cluster, minlength=n_clusters_all)
        if ((hits > 0) & (hits < size)).any():
            raise ValueError("a subset must take whole clusters")
        in_cluster = hits > 0
    counts = np.bincount(b.battle_cell[battle_in], minlength=n_cells).astype(np.float64)
    ca, cb, co = b.cell_a, b.cell_b, b.cell_outcome
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

    def fit(cnt: FloatArray, kind: Ties, tolerance: float) -> tuple[FloatArray, FloatArray | None]:
        if kind == "davidson":
            w, t = tie_matrices(cnt)
            return davidson_fit(w, t, prior, max(iters, 5000), tolerance)
        w, g = half_matrices(cnt)
        return _mm_fit(w, g, prior, iters, tolerance), None

    n = int(counts.sum())
    n_clusters = int(in_cluster.sum())
    boot = None
    if n_boot > 0 and n > 0:
        mult = np.bincount(b.cluster_pattern[in_cluster], minlength=b.pattern_cells.shape[0])
        present = np.flatnonzero(mult)
        w = pattern_weights(np.random.default_rng(seed), mult[present], n_boot)
        boot = np.asarray((b.pattern_cells[present].T @ w.T).T, dtype=np.float64)
    base = counts[None, :]
    wins, games = half_matrices(base)
    out: dict[str, BTResult] = {}
    for kind in ties:
        logp_all, nu_all = fit(base, kind, tol)
        lo = hi = np.full(m, np.nan)
        nu_lo = nu_hi = float("nan")
        if boot is not None:
            # Percentiles of 200 resamples do not need the point fit's precision.
            boot_logp, boot_nu = fit(boot, kind, max(tol, 1e-7))
            lo, hi = np.percentile(INIT + ELO * boot_logp, [2.5, 97.5], axis=0)
            if boot_nu is not None:
                nu_lo, nu_hi = (float(x) for x in np.percentile(boot_nu, [2.5, 97.5]))
        out[kind] = BTResult(
            strength=INIT + ELO * logp_all[0],
            ci_low=np.asarray(lo, dtype=np.float64),
            ci_high=np.asarray(hi, dtype=np.float64),
            log_strength=logp_all[0],
            battles=games[0].sum(axis=1).astype(np.int64),
            wins=wins[0].sum(axis=1),
            n_battles=n,
            ties=kind,
            n_clusters=n_clusters,
            nu=None if nu_all is None else float(nu_all[0]),
            nu_ci=(nu_lo, nu_hi),
        )
    return out


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
    battles = prepare_battles(model_a, model_b, score_a, n_models, cluster)
    fits = fit_battles(
        battles, ties=(ties,), n_boot=n_boot, seed=seed, prior=prior, iters=iters, tol=tol
    )
    return fits[ties]


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
