"""Figures that add up across batches of labels, for incremental snapshots. Pure: no Django.

Most figures of the report (agreement, consistency, bootstrap intervals) need every label
at once. These do not: label counts (overall, per task type, per annotator), and the
model-vs-model win and battle matrices, which are the sufficient statistics of a
Bradley-Terry fit (the likelihood depends on the battles only through them). A snapshot
keeps a ``Tally`` with the newest label id it covers; the next one reads only labels with
a larger id, tallies them and adds the two (``tally_merge``), which equals a tally of all
labels (tested). Models and annotators are keyed by name, so batches need not share codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bradley_terry import ELO, INIT, _mm_fit
from .data import TASK_TYPES, CampaignData
from .report import implied_pairs


@dataclass
class Tally:
    max_label_id: int = 0
    n_labels: int = 0
    by_task: dict[str, int] = field(default_factory=dict)
    by_annotator: dict[str, int] = field(default_factory=dict)
    # (model a, model b) -> [wins of a (ties half), battles]; a < b by name.
    battles: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_label_id": self.max_label_id,
            "n_labels": self.n_labels,
            "by_task": dict(sorted(self.by_task.items())),
            "by_annotator": dict(sorted(self.by_annotator.items())),
            "battles": [[a, b, w, n] for (a, b), (w, n) in sorted(self.battles.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls(
            max_label_id=int(data["max_label_id"]),
            n_labels=int(data["n_labels"]),
            by_task={str(k): int(v) for k, v in data["by_task"].items()},
            by_annotator={str(k): int(v) for k, v in data["by_annotator"].items()},
            battles={(str(a), str(b)): [float(w), float(n)] for a, b, w, n in data["battles"]},
        )


def tally_of(d: CampaignData) -> Tally:
    """The additive figures of the labels in ``d``."""
    t = Tally(
        max_label_id=int(d.label_id.max()) if len(d.label_id) else 0,
        n_labels=len(d.label_id),
    )
    tasks = np.bincount(d.label_task, minlength=len(TASK_TYPES))
    t.by_task = {TASK_TYPES[i]: int(c) for i, c in enumerate(tasks) if c}
    per_ann = np.bincount(d.label_annotator, minlength=d.n_annotators)
    t.by_annotator = {d.annotator_names[i]: int(c) for i, c in enumerate(per_ann) if c}
    pairs = implied_pairs(d)
    ma, mb = d.response_model[pairs.a], d.response_model[pairs.b]
    score = (pairs.outcome + 1) / 2.0  # a's share: 1 win, 0.5 tie, 0 loss
    keep = ma != mb
    m = max(len(d.model_names), 1)
    # Orient every battle so that the first model's name sorts first.
    names = np.array([*d.model_names, ""], dtype=object)
    flip = names[ma] > names[mb]
    lo, hi = np.where(flip, mb, ma)[keep], np.where(flip, ma, mb)[keep]
    share = np.where(flip, 1.0 - score, score)[keep]
    key = lo * m + hi
    wins = np.bincount(key, weights=share, minlength=m * m)
    count = np.bincount(key, minlength=m * m)
    for k in np.flatnonzero(count):
        a, b = divmod(int(k), m)
        t.battles[(d.model_names[a], d.model_names[b])] = [float(wins[k]), float(count[k])]
    return t


def tally_merge(a: Tally, b: Tally) -> Tally:
    """The tally of two disjoint batches of labels."""
    out = Tally(max_label_id=max(a.max_label_id, b.max_label_id), n_labels=a.n_labels + b.n_labels)
    for target, x, y in (
        (out.by_task, a.by_task, b.by_task),
        (out.by_annotator, a.by_annotator, b.by_annotator),
    ):
        for name in x.keys() | y.keys():
            target[name] = x.get(name, 0) + y.get(name, 0)
    for pair in a.battles.keys() | b.battles.keys():
        wa, na = a.battles.get(pair, [0.0, 0.0])
        wb, nb = b.battles.get(pair, [0.0, 0.0])
        out.battles[pair] = [wa + wb, na + nb]
    return out


def tally_leaderboard(t: Tally, prior: float = 0.0) -> list[dict[str, Any]]:
    """Bradley-Terry ratings (ties half, Elo-like scale) from the tally's matrices alone."""
    names = sorted({m for pair in t.battles for m in pair})
    if len(names) < 2:
        return []
    index = {n: i for i, n in enumerate(names)}
    m = len(names)
    wins, games = np.zeros((1, m, m)), np.zeros((1, m, m))
    for (a, b), (w, n) in t.battles.items():
        i, j = index[a], index[b]
        wins[0, i, j] += w
        wins[0, j, i] += n - w
        games[0, i, j] += n
        games[0, j, i] += n
    logp = _mm_fit(wins, games, prior, iters=10_000, tol=1e-10)[0]
    rows = [
        {
            "model": name,
            "rating": round(float(INIT + ELO * logp[i]), 3),
            "wins": round(float(wins[0, i].sum()), 3),
            "battles": int(games[0, i].sum()),
        }
        for i, name in enumerate(names)
    ]
    return sorted(rows, key=lambda r: (-r["rating"], r["model"]))
