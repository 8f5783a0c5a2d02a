"""Quality flags computed when a label is stored.

Campaign.config keys read here:
- ``min_seconds`` (number, default 0): a submit faster than this is flagged ``too_fast``
  (stored, not silently accepted, and visible to admins).
Gold items and attention checks carry ``Item.gold_answer`` in the task type's payload
shape; the flag ``gold_correct`` records whether the answer matched.
"""

from __future__ import annotations

from typing import Any

from annotate.models import Annotation, Campaign, Item, TaskType


def annotation_flags(
    *, item: Item, campaign: Campaign, payload: dict[str, Any], time_spent_ms: int | None
) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    min_seconds = float(campaign.config.get("min_seconds", 0) or 0)
    if min_seconds and time_spent_ms is not None and time_spent_ms < min_seconds * 1000:
        flags["too_fast"] = True
    if (item.is_gold or item.is_attention_check) and item.gold_answer is not None:
        flags["gold_correct"] = gold_matches(item.task_type, item.gold_answer, payload)
        if item.is_attention_check:
            flags["attention_check"] = True
    return flags


def gold_matches(task_type: str, gold: Any, payload: dict[str, Any]) -> bool:
    """Whether a normalised payload agrees with an item's known answer.

    pairwise: gold {"chosen": response_id} (or {"tie": true});
    ranking: gold {"best": response_id} — the response that must be ranked first;
    rating: gold {"<response_id>": {"<attribute>": [low, high]}} — inclusive bounds;
    other types have no automatic answer check.
    """
    if not isinstance(gold, dict):
        return False
    if task_type == TaskType.PAIRWISE:
        if gold.get("tie"):
            return payload.get("choice") == "tie"
        return payload.get("chosen") == gold.get("chosen")
    if task_type == TaskType.RANKING:
        first = payload.get("ranking", [[]])[0]
        return first == [gold.get("best")]
    if task_type == TaskType.RATING:
        ratings = payload.get("ratings", {})
        for rid, bounds in gold.items():
            for attribute, (low, high) in bounds.items():
                value = ratings.get(str(rid), {}).get(attribute)
                if value is None or not low <= value <= high:
                    return False
        return True
    return False


def after_submit(*, annotation: Annotation) -> None:
    """Hook for per-annotator quality state (pausing after repeated gold failures).

    Runs inside the submit transaction. The annotator-experience work extends it.
    """
    return None
