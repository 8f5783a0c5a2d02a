"""The ``judges`` key of ``analytics --json``: one judge's figures from plain records.

Input (built by ``annotate.selectors.judge_analytics``): per task type, the judge's
category per unit and prompt version, the human labels of those units, and the pairwise
verdicts of both orders; plus parse statuses. Units and categories:

- pairwise: unit = item; category 0 = the first canonical response better, 1 = tie, 2 =
  the second better (``judge_swap``'s orientation); the judge's category is its two
  verdicts combined by the swap policy;
- rating: unit = (item, response); category = rating - low on the overall attribute;
  agreement is quadratic-weighted;
- ranking: unit = item; category = canonical position of the response ranked best (a
  human ranking whose top group holds several responses has no category).

Agreement uses ``judge_agreement``: overall (items resampled), per profile field
(annotators and items resampled), per language and (by construction) per task type; κ
per prompt version; swap consistency of the newest pairwise version; parse failures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .judge_agreement import (
    Breakdown,
    Weighting,
    judge_agreement,
    judge_agreement_breakdowns,
    judge_human_labels,
)
from .judge_swap import swap_consistency


@dataclass(frozen=True)
class HumanRow:
    unit: int
    annotator: int
    category: int
    groups: Mapping[str, str]  # profile field -> value of the labelling annotator


@dataclass
class TaskBlock:
    """One task type of one judge."""

    k: int
    weighting: str  # "none" | "quadratic"
    humans: list[HumanRow] = field(default_factory=list)
    # prompt version -> {unit: judge category}
    judge: dict[int, dict[int, int]] = field(default_factory=dict)
    # unit -> language (item attribute), when items have one
    language: dict[int, str] = field(default_factory=dict)
    # newest version's pairwise verdicts per item (canonical categories, -1 unparsed)
    swap_v1: list[int] = field(default_factory=list)
    swap_v2: list[int] = field(default_factory=list)


def _labels(block: TaskBlock, version: int) -> tuple[Any, list[HumanRow]]:
    judged = block.judge.get(version, {})
    rows = [h for h in block.humans if h.unit in judged]
    labels = judge_human_labels(
        [h.unit for h in rows],
        [h.annotator for h in rows],
        [h.category for h in rows],
        [judged[h.unit] for h in rows],
    )
    kept = [h for h in rows if h.category >= 0 and judged[h.unit] >= 0]
    return labels, kept


def _codes(values: Sequence[str]) -> Breakdown:
    names = sorted({v for v in values if v})
    index = {n: i for i, n in enumerate(names)}
    return Breakdown(np.array([index.get(v, -1) for v in values], dtype=np.int64), names, "both")


def task_report(
    block: TaskBlock,
    *,
    profile_fields: Sequence[str],
    n_boot: int = 200,
    seed: int = 0,
    min_labels: int = 1,
) -> dict[str, Any]:
    """Agreement of the newest prompt version (overall, per group), κ per version."""
    weighting: Weighting = "quadratic" if block.weighting == "quadratic" else "none"
    versions = sorted(block.judge)
    out: dict[str, Any] = {"k": block.k, "weighting": weighting, "versions": []}
    for version in versions:
        labels, _ = _labels(block, version)
        fig = judge_agreement(labels, block.k, weighting=weighting, n_boot=n_boot, seed=seed)
        out["versions"].append(
            {
                "version": version,
                "n_units": len(block.judge[version]),
                "n_labels": fig["n_labels"],
                "kappa": fig["kappa"],
                "percent_agreement": fig["percent_agreement"],
            }
        )
    if not versions:
        return out
    newest = versions[-1]
    out["version"] = newest
    labels, kept = _labels(block, newest)
    breakdowns: dict[str, Breakdown] = {}
    for name in profile_fields:
        breakdowns[f"profile:{name}"] = _codes([str(h.groups.get(name) or "") for h in kept])
    if block.language:
        lang = _codes([block.language.get(h.unit, "") for h in kept])
        breakdowns["language"] = Breakdown(lang.codes, lang.names, "item")
    out.update(
        judge_agreement_breakdowns(
            labels,
            block.k,
            breakdowns,
            weighting=weighting,
            n_boot=n_boot,
            seed=seed,
            min_labels=min_labels,
        )
    )
    if block.swap_v1:
        out["swap"] = swap_consistency(block.swap_v1, block.swap_v2, n_boot=n_boot, seed=seed)
    return out


def parse_summary(statuses: Sequence[str]) -> dict[str, Any]:
    """Counts of judgment statuses: ``ok``, each failure, and the failure rate."""
    counts = Counter(s for s in statuses if s != "pending")
    n = sum(counts.values())
    failures = {s: c for s, c in sorted(counts.items()) if s != "ok"}
    return {
        "n": n,
        "ok": counts.get("ok", 0),
        "failures": failures,
        "n_failed": sum(failures.values()),
        "failure_rate": round(sum(failures.values()) / n, 6) if n else None,
        "pending": sum(1 for s in statuses if s == "pending"),
    }
