"""Reads for routing (issue 16): per-item texts and signals, labels on both sides, plans.

``routing_item_data`` gathers what the gain model needs for every routable item of a
campaign in a handful of queries: texts (prompt, the first two responses in canonical
order), the language, the judge's signals from its Judgments, the human majority and the
judge's label as canonical pairwise categories (0 = first response better, 1 = tie,
2 = second better, -1 = none; an item the judge was asked about but left without a
label, e.g. its two orders disagreed, counts as a tie: it gives the reward model no
preference). The reward model's signals come from modelserve
(modelserve/learning/routing.py) and are passed to the service separately.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Count, Q

from annotate.analytics.routing import gain_summary, realised_gain
from annotate.models import (
    Annotation,
    Campaign,
    Item,
    ItemResponse,
    ItemRoute,
    RoutedItem,
    RoutingPlan,
)
from annotate.models.judges import Judgment
from annotate.models.routing import ROUTABLE_TASK_TYPES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UNKNOWN_LANGUAGE = "und"
_TARGET = {0: 1.0, 1: 0.5, 2: 0.0}  # canonical category -> P(first better)
_ITEM_HAS_LANGUAGE = any(f.name == "language" for f in Item._meta.get_fields())


@dataclass
class RoutingData:
    """One row per routable ordinary item of a campaign (gold and attention checks aside)."""

    item_ids: list[int] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    responses_a: list[str] = field(default_factory=list)
    responses_b: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    judge_confidence: FloatArray = field(default_factory=lambda: np.zeros(0))
    swap_consistent: FloatArray = field(default_factory=lambda: np.zeros(0))
    human: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    judge: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.item_ids)

    def realised(self) -> FloatArray:
        """What the human label changed per item (NaN without both labels)."""
        return realised_gain(self.human, self.judge, pairwise=True)


def _prompt_text(messages: Any) -> str:
    """The prompt as the judge reads it: the messages' contents, in order."""
    if isinstance(messages, list):
        return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    return str(messages or "")


def _category(chosen: Any, canonical: list[int]) -> int:
    """A pairwise payload's choice as a canonical category (see the module docstring)."""
    if len(canonical) != 2:
        return -1
    if chosen is None:
        return 1
    if chosen == canonical[0]:
        return 0
    return 2 if chosen == canonical[1] else -1


def _majority(votes: Iterable[int]) -> int:
    counts = np.bincount([v for v in votes if v >= 0], minlength=3)
    if counts.sum() == 0 or (counts == counts.max()).sum() > 1:
        return -1  # none, or a tied plurality
    return int(counts.argmax())


def _label_categories(
    rows: Iterable[tuple[int, Any]], canonical: dict[int, list[int]]
) -> dict[int, int]:
    votes: dict[int, list[int]] = defaultdict(list)
    for item_id, chosen in rows:
        votes[item_id].append(_category(chosen, canonical.get(item_id, [])))
    return {item_id: _majority(v) for item_id, v in votes.items()}


def _judge_signals(item_ids: list[int]) -> tuple[dict[int, float], dict[int, float]]:
    """(confidence, swap consistency) per pairwise item from its parsed Judgments.

    A verdict shown in order BA is mapped back to the canonical order. Confidence is
    |2 t - 1| with t the mean P(first better) over every parsed verdict (all judges, both
    orders): 1 when every verdict names the same winner, 0 for ties or a verdict flipped
    by the order. Swap consistency is the share of (judge, prompt version) pairs whose two
    orders agree, over those with both parsed.
    """
    verdicts: dict[int, list[float]] = defaultdict(list)
    by_pair: dict[tuple[int, int, int], dict[str, int]] = defaultdict(dict)
    rows = Judgment.objects.filter(
        item_id__in=item_ids, parse_ok=True, item__task_type="pairwise"
    ).values_list("item_id", "judge_id", "prompt_version", "order", "parsed")
    for item_id, judge_id, version, order, parsed in rows:
        shown = {"A": 0, "tie": 1, "B": 2}.get(str(parsed))
        if shown is None:
            continue
        canon = shown if order == "AB" or shown == 1 else 2 - shown
        verdicts[item_id].append(_TARGET[canon])
        by_pair[(item_id, judge_id, version)][order] = canon
    confidence = {i: abs(2 * float(np.mean(v)) - 1) for i, v in verdicts.items()}
    agree: dict[int, list[float]] = defaultdict(list)
    for (item_id, _, _), orders in by_pair.items():
        if "AB" in orders and "BA" in orders:
            agree[item_id].append(float(orders["AB"] == orders["BA"]))
    return confidence, {i: float(np.mean(v)) for i, v in agree.items()}


def _pairwise_labels(
    pairwise: set[int], canonical: dict[int, list[int]]
) -> tuple[dict[int, int], dict[int, int]]:
    """(human majority, judge label) per pairwise item, as canonical categories."""
    human = _label_categories(
        Annotation.objects.filter(item_id__in=pairwise).values_list("item_id", "payload__chosen"),
        canonical,
    )
    judge = _label_categories(
        Annotation.all_sources.filter(item_id__in=pairwise, source="ai").values_list(
            "item_id", "payload__chosen"
        ),
        canonical,
    )
    # Asked but left without a label (its two orders disagreed under the "drop" policy,
    # or nothing parsed): the judge adds no preference, which reads as 1/2, a tie.
    asked = set(Judgment.objects.filter(item_id__in=pairwise).values_list("item_id", flat=True))
    for item_id in asked - judge.keys():
        judge[item_id] = 1
    return human, judge


def routing_realised_gain(*, item_ids: Iterable[int]) -> dict[int, float]:
    """What the human label changed on each of ``item_ids`` that has both labels (the
    report's realised gain; reads labels only, no texts)."""
    canonical: dict[int, list[int]] = defaultdict(list)
    for item_id, response_id in (
        ItemResponse.objects.filter(item__in=list(item_ids), item__task_type="pairwise")
        .order_by("item_id", "position")
        .values_list("item_id", "response_id")
    ):
        canonical[item_id].append(response_id)
    ids = sorted(canonical)
    human, judge = _pairwise_labels(set(ids), canonical)
    gain = realised_gain(
        [human.get(i, -1) for i in ids], [judge.get(i, -1) for i in ids], pairwise=True
    )
    return {i: float(g) for i, g in zip(ids, gain, strict=True) if np.isfinite(g)}


def routing_item_data(*, campaign: Campaign) -> RoutingData:
    """Every routable ordinary item of ``campaign`` with its texts, signals and labels."""
    columns = ["pk", "task_type", "prompt__messages"]
    if _ITEM_HAS_LANGUAGE:  # Item.language comes with issue 16's language breakdowns
        columns.append("language")
    items = list(
        Item.objects.filter(
            campaign=campaign,
            task_type__in=ROUTABLE_TASK_TYPES,
            is_gold=False,
            is_attention_check=False,
        )
        .order_by("pk")
        .values_list(*columns)
    )
    ids = [row[0] for row in items]
    texts: dict[int, list[str]] = defaultdict(list)
    canonical: dict[int, list[int]] = defaultdict(list)
    for item_id, response_id, text in (
        ItemResponse.objects.filter(item__in=ids)
        .order_by("item_id", "position")
        .values_list("item_id", "response_id", "response__text")
    ):
        texts[item_id].append(text or "")
        canonical[item_id].append(response_id)
    pairwise = {row[0] for row in items if row[1] == "pairwise"}
    human, judge = _pairwise_labels(pairwise, canonical)
    confidence, swap = _judge_signals(sorted(pairwise))
    data = RoutingData(item_ids=ids)
    for row in items:
        item_id = row[0]
        responses = texts.get(item_id, [])
        data.task_types.append(row[1])
        data.prompts.append(_prompt_text(row[2]))
        data.responses_a.append(responses[0] if responses else "")
        data.responses_b.append(responses[1] if len(responses) > 1 else "")
        data.languages.append((row[3] if _ITEM_HAS_LANGUAGE else "") or UNKNOWN_LANGUAGE)
    data.judge_confidence = np.array([confidence.get(i, np.nan) for i in ids], dtype=np.float64)
    data.swap_consistent = np.array([swap.get(i, np.nan) for i in ids], dtype=np.float64)
    data.human = np.array([human.get(i, -1) for i in ids], dtype=np.int64)
    data.judge = np.array([judge.get(i, -1) for i in ids], dtype=np.int64)
    return data


def routing_plan_latest(*, campaign: Campaign) -> RoutingPlan | None:
    return RoutingPlan.objects.filter(campaign=campaign).order_by("-version").first()


def routing_first_predictions(*, campaign: Campaign) -> dict[int, float]:
    """Per item, the predicted gain of the first plan that routed it to people before any
    person had labelled it: an out-of-sample prediction, to set against what the human
    label then changed."""
    out: dict[int, float] = {}
    rows = (
        RoutedItem.objects.filter(
            plan__campaign=campaign,
            route=ItemRoute.HUMAN,
            labelled_before=False,
            predicted_gain__isnull=False,
        )
        .order_by("item_id", "plan__version")
        .values_list("item_id", "predicted_gain")
    )
    for item_id, gain in rows:
        if gain is not None:
            out.setdefault(item_id, float(gain))
    return out


def routing_report(*, campaign: Campaign, max_points: int = 500) -> dict[str, Any]:
    """The ``routing`` key of analytics (annotate/analytics/README.md): the settings, the
    plan in force, the budget used now, and predicted against realised gain."""
    cfg = (campaign.config or {}).get("routing") or {}
    routable = Item.objects.filter(
        campaign=campaign,
        task_type__in=ROUTABLE_TASK_TYPES,
        is_gold=False,
        is_attention_check=False,
    )
    counts = routable.aggregate(
        n_items=Count("pk"),
        used=Count("pk", filter=Q(n_submitted__gt=0) | Q(slots_taken__gt=0)),
        human=Count("pk", filter=Q(route=ItemRoute.HUMAN)),
        ai=Count("pk", filter=Q(route=ItemRoute.AI)),
    )
    plan = routing_plan_latest(campaign=campaign)
    out: dict[str, Any] = {
        "enabled": bool(cfg.get("enabled")),
        "human_budget": int(cfg.get("human_budget") or 0),
        "n_items": counts["n_items"],
        "budget_used": counts["used"],
        "routed_human": counts["human"],
        "routed_ai": counts["ai"],
        "share_human": round(counts["human"] / counts["n_items"], 6) if counts["n_items"] else None,
        "plan": None,
        "gain": gain_summary([], []),
        "points": [],
    }
    if plan is not None:
        out["plan"] = {
            "version": plan.version,
            "created_at": plan.created_at.isoformat(),
            "trigger": plan.trigger,
            "model_kind": plan.model_kind,
            "model": plan.model,
            "n_train": plan.n_train,
            "budget": plan.budget,
            "spent": plan.spent,
            "n_items": plan.n_items,
            "n_human": plan.n_human,
            "n_ai": plan.n_ai,
            "threshold": plan.threshold,
            "reward_model": plan.reward_model,
            "duration_ms": plan.duration_ms,
        }
    predicted = routing_first_predictions(campaign=campaign)
    if predicted:
        realised = routing_realised_gain(item_ids=predicted)
        pairs = [(p, realised[i]) for i, p in predicted.items() if i in realised]
        out["gain"] = gain_summary([p for p, _ in pairs], [r for _, r in pairs])
        out["points"] = [[round(p, 4), round(r, 4)] for p, r in pairs[:max_points]]
    return out
