"""HyPER-style routing: predict what a human label adds, send the best items to humans.

Gain of a human label on an item (the target, ``realised_gain``): how much the reward
model's training target for the item changes when the humans' label replaces the judge's,

    gain = |t(human majority) - t(judge)|,   t(first better) = 1, t(tie) = 1/2, t(second) = 0

(for ratings t = position on the scale, (value - low) / (high - low)). It is 0 where the
judge already says what people say, 1 where it flips the pair. Its expectation given the
item's features is what a human label is worth to the reward model's data, which is what
HyPER's performance-prediction model estimates per instance.

Gain model (``fit_gain_model``), fit on items that have both human and judge labels:
- ridge regression in numpy: columns standardised (mean 0, sd 1 on the training rows,
  NaN filled with the training mean), intercept unpenalised, coefficients
  beta(lambda) = V diag(s / (s^2 + lambda)) U' (y - mean y) from the SVD X = U S V', and
  lambda chosen on a log grid by exact leave-one-out error, e_i / (1 - h_ii) with
  h_ii = 1/n + sum_k U_ik^2 s_k^2 / (s_k^2 + lambda) (closed form: no refits);
- LightGBM (``kind="lightgbm"``, or "auto" when the package is importable and there are
  at least ``min_rows_boosted`` rows), which can use interactions the ridge cannot.
One or two rows: a constant model (the mean gain); none: ValueError (nothing to learn
from; the caller decides what to do without a model).

Routing (``route_by_budget``): items in decreasing predicted gain (per unit of human cost
when costs are given) go to humans until the budget is spent; the rest go to the judge.
The gain of the last item routed is the threshold: items above it go first in the human
queue. ``gain_summary`` compares predicted with realised gain once human labels arrive.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kind = Literal["auto", "ridge", "lightgbm"]


def realised_gain(
    human: npt.ArrayLike, judge: npt.ArrayLike, k: int = 3, *, pairwise: bool = True
) -> FloatArray:
    """|t(human) - t(judge)| per item (see the module docstring); NaN where either is -1.

    Pairwise categories: 0 = first better, 1 = tie, 2 = second better (t = 1, 1/2, 0);
    otherwise categories are scale positions 0..k-1 (t = position / (k - 1)).
    """
    h = np.asarray(human, dtype=np.int64).ravel()
    j = np.asarray(judge, dtype=np.int64).ravel()
    if pairwise:
        target = np.array([1.0, 0.5, 0.0])
        th, tj = target[np.clip(h, 0, 2)], target[np.clip(j, 0, 2)]
    else:
        th, tj = h / max(k - 1, 1), j / max(k - 1, 1)
    return np.where((h >= 0) & (j >= 0), np.abs(th - tj), np.nan)


def _lightgbm() -> Any | None:
    """The lightgbm module when it is installed (an optional dependency), else None."""
    try:
        return importlib.import_module("lightgbm")
    except Exception:  # absent, or broken native library: ridge it is
        return None


@dataclass
class GainModel:
    kind: str  # "ridge" | "lightgbm" | "constant"
    names: list[str]
    fill: FloatArray  # training mean per column (fills NaN)
    mean: FloatArray
    scale: FloatArray
    intercept: float
    coef: FloatArray
    lam: float = 0.0
    loo_mse: float = float("nan")
    n_train: int = 0
    booster: Any = field(default=None, repr=False)

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        """Predicted gain per row, clipped to [0, 1] (the gain's range)."""
        xx = np.asarray(x, dtype=np.float64)
        if self.kind == "lightgbm":
            raw = np.asarray(self.booster.predict(xx), dtype=np.float64)
        else:
            filled = np.where(np.isnan(xx), self.fill[None, :], xx)
            raw = self.intercept + ((filled - self.mean) / self.scale) @ self.coef
        return np.clip(raw, 0.0, 1.0)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (coefficients per standardised column for ridge)."""
        out: dict[str, Any] = {"kind": self.kind, "n_train": self.n_train}
        if self.kind == "ridge":
            out |= {
                "lambda": self.lam,
                "loo_mse": _round(self.loo_mse),
                "intercept": _round(self.intercept),
                "coef": {n: _round(c) for n, c in zip(self.names, self.coef, strict=True)},
            }
        return out


def _round(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def _standardise(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    all_nan: npt.NDArray[np.bool_] = np.asarray(np.isnan(x).all(axis=0))
    fill = np.nanmean(np.where(all_nan, 0.0, x), axis=0)  # an all-unknown column fills 0
    filled = np.where(np.isnan(x), fill[None, :], x)
    mean = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)  # constant columns: no effect, no 0/0
    return (filled - mean) / scale, fill, mean, scale


def fit_ridge(
    x: npt.ArrayLike, y: npt.ArrayLike, names: list[str], lambdas: npt.ArrayLike | None = None
) -> GainModel:
    """Ridge with the leave-one-out-optimal lambda (see the module docstring)."""
    xx, yy = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
    n, p = xx.shape
    z, fill, mean, scale = _standardise(xx)
    ybar = float(yy.mean()) if n else 0.0
    if n < 3:
        return GainModel("constant", names, fill, mean, scale, ybar, np.zeros(p), n_train=n)
    yc = yy - ybar
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    uty = u.T @ yc
    grid = (
        np.asarray(lambdas, dtype=np.float64) if lambdas is not None else n * np.logspace(-4, 2, 25)
    )
    s2 = s**2
    best = (np.inf, float(grid[0]))
    for lam in grid:
        shrink = s2 / (s2 + lam)
        fitted = u @ (shrink * uty)
        hat = 1.0 / n + (u**2) @ shrink
        loo = (yc - fitted) / np.maximum(1.0 - hat, 1e-12)
        mse = float(np.mean(loo**2))
        if mse < best[0]:
            best = (mse, float(lam))
    mse, lam = best
    coef = vt.T @ ((s / (s2 + lam)) * uty)
    return GainModel("ridge", names, fill, mean, scale, ybar, coef, lam, mse, n)


def fit_gain_model(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    names: list[str],
    *,
    kind: Kind = "auto",
    min_rows_boosted: int = 200,
    seed: int = 0,
) -> GainModel:
    """Fit the performance-prediction model on rows with a known (finite) gain."""
    xx, yy = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
    keep = np.isfinite(yy)
    xx, yy = xx[keep], yy[keep]
    if len(yy) == 0:
        raise ValueError("no items with both human and judge labels to fit the gain model on")
    lgb = _lightgbm() if kind in ("auto", "lightgbm") else None
    if kind == "lightgbm" and lgb is None:
        raise ValueError("kind='lightgbm' but the lightgbm package is not installed")
    if lgb is not None and (kind == "lightgbm" or len(yy) >= min_rows_boosted):
        booster = lgb.LGBMRegressor(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=max(5, len(yy) // 50),
            subsample=0.8,
            subsample_freq=1,
            random_state=seed,
            verbose=-1,
        )
        booster.fit(xx, yy)
        p = xx.shape[1]
        return GainModel(
            "lightgbm", names, np.zeros(p), np.zeros(p), np.ones(p), 0.0, np.zeros(p),
            n_train=len(yy), booster=booster,
        )  # fmt: skip
    return fit_ridge(xx, yy, names)


@dataclass(frozen=True)
class RoutingPlan:
    to_human: npt.NDArray[np.bool_]  # per item
    queue: IntArray  # item positions routed to humans, highest priority first
    threshold: float | None  # predicted gain of the last item routed (None: none routed)
    budget: float
    spent: float
    predicted_gain: float  # sum over routed items


def route_by_budget(
    predicted_gain: npt.ArrayLike,
    budget: float,
    *,
    cost: npt.ArrayLike | None = None,
    min_gain: float | None = None,
) -> RoutingPlan:
    """Top predicted gain (per unit cost) to humans until ``budget`` is spent.

    ``cost``: human cost per item (e.g. its overlap: labels needed), default 1. Greedy by
    gain / cost; an item that no longer fits is skipped and cheaper ones still fill the
    budget. ``min_gain``: items predicted to gain no more than this stay with the judge
    even with budget left; so do items without a prediction (NaN). Ties in gain keep item
    order (stable), so plans reproduce.
    """
    g = np.asarray(predicted_gain, dtype=np.float64).ravel()
    c = np.ones(len(g)) if cost is None else np.asarray(cost, dtype=np.float64).ravel()
    if len(c) != len(g) or (c <= 0).any():
        raise ValueError("cost needs one positive value per item")
    known = np.isfinite(g)
    score = np.where(known, g, -np.inf) / c
    order = np.argsort(-score, kind="stable")
    order = order[known[order]]
    if min_gain is not None:
        order = order[g[order] > min_gain]
    # Greedy fill: cumulative cost of the items taken so far decides each next one.
    take = np.zeros(len(order), dtype=bool)
    spent = 0.0
    cum = np.cumsum(c[order])
    if cost is None:
        take[: max(0, min(int(np.floor(budget)), len(order)))] = True
        spent = float(take.sum())
    elif len(order) and cum[-1] <= budget:
        take[:] = True
        spent = float(cum[-1])
    else:
        for pos, i in enumerate(order):
            if spent + c[i] <= budget:
                take[pos] = True
                spent += float(c[i])
    queue = order[take].astype(np.int64)
    to_human = np.zeros(len(g), dtype=bool)
    to_human[queue] = True
    return RoutingPlan(
        to_human=to_human,
        queue=queue,
        threshold=float(g[queue[-1]]) if len(queue) else None,
        budget=float(budget),
        spent=spent,
        predicted_gain=float(np.nansum(g[queue])),
    )


def route_random(n_items: int, budget: int, seed: int = 0) -> npt.NDArray[np.bool_]:
    """The baseline: ``budget`` items chosen uniformly at random go to humans."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n_items, dtype=bool)
    out[rng.choice(n_items, min(max(budget, 0), n_items), replace=False)] = True
    return out


def _mid_ranks(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Ranks from 1, ties sharing their mean rank: Spearman's rho is Pearson's r on these
    (what scipy.stats.spearmanr computes; importing scipy.stats costs a process ~50 MB)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse.ravel()]


def gain_summary(
    predicted: npt.ArrayLike, realised: npt.ArrayLike, n_bins: int = 5
) -> dict[str, Any]:
    """Predicted against realised gain on the items that have both.

    Keys: ``n``, ``predicted_mean``, ``realised_mean``, ``pearson``, ``spearman``, and
    ``bins``: items split into ``n_bins`` equal-count bins by predicted gain, each
    ``{predicted, realised, n}`` (a calibration curve: realised should rise with
    predicted, and lie on it when the model is calibrated).
    """
    p = np.asarray(predicted, dtype=np.float64).ravel()
    r = np.asarray(realised, dtype=np.float64).ravel()
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    out: dict[str, Any] = {
        "n": len(p),
        "predicted_mean": _round(p.mean()) if len(p) else None,
        "realised_mean": _round(r.mean()) if len(p) else None,
        "pearson": None,
        "spearman": None,
        "bins": [],
    }
    if len(p) >= 3 and p.std() > 0 and r.std() > 0:
        out["pearson"] = _round(float(np.corrcoef(p, r)[0, 1]))
        rho = np.corrcoef(_mid_ranks(p), _mid_ranks(r))
        out["spearman"] = _round(float(np.asarray(rho)[0, 1]))
    if len(p):
        for chunk in np.array_split(np.argsort(p, kind="stable"), min(n_bins, len(p))):
            out["bins"].append(
                {"predicted": _round(p[chunk].mean()), "realised": _round(r[chunk].mean()),
                 "n": len(chunk)}
            )  # fmt: skip
    return out
