"""Quality control: flags on each label, gold items mixed in, pausing annotators.

Campaign.config keys read here:
- ``min_seconds`` (number, default 0): a submit faster than this is flagged ``too_fast``
  (stored, not silently accepted, visible to admins) and the annotator is told.
- ``gold_rate`` (0..1, default 0): probability that a lease is served from the
  campaign's gold items (``Item.is_gold``) when one is left for this annotator.
- ``attention_rate`` (0..1, default 0): same for attention checks
  (``Item.is_attention_check``).
- ``max_gold_failures`` (int, default 0 = never): after this many failed gold items or
  attention checks in the campaign the annotator is paused (``Annotator.paused``).
Gold items and attention checks carry ``Item.gold_answer`` in the task type's payload
shape; the flag ``gold_correct`` records whether the answer matched, so failures are
recorded per annotator on their annotations (``quality_failures`` counts them).
Gold items should be given a low ``priority`` so the ordinary queue reaches them last:
the rate above is then what decides how often they are served.
"""

from __future__ import annotations

import random
from typing import Any

from django.utils.translation import gettext, gettext_noop

from annotate.models import (
    Annotation,
    Annotator,
    Campaign,
    Item,
    TaskType,
)

_rng = random.SystemRandom()
GOLD_PAUSE_REASON = gettext_noop(
    "Your account is paused: several quality-check answers did not match the "
    "expected answer. A researcher will review your work and contact you."
)


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


def _rate(campaign: Campaign, key: str) -> float:
    try:
        return min(1.0, max(0.0, float((campaign.config or {}).get(key, 0) or 0)))
    except (TypeError, ValueError):
        return 0.0


def quality_failures(*, annotator: Annotator, campaign: Campaign) -> int:
    """Failed gold items and attention checks of this annotator in this campaign."""
    return Annotation.objects.filter(
        annotator=annotator, campaign=campaign, flags__gold_correct=False
    ).count()


def after_submit(*, annotation: Annotation) -> bool:
    """Pause the annotator once their gold failures reach ``max_gold_failures``; True
    when this answer paused them.

    Runs inside the submit transaction, so the pause and the label commit together.
    """
    if annotation.flags.get("gold_correct") is not False:
        return False
    campaign = annotation.campaign
    try:
        limit = int((campaign.config or {}).get("max_gold_failures", 0) or 0)
    except (TypeError, ValueError):
        limit = 0
    if limit <= 0:
        return False
    failures = quality_failures(annotator=annotation.annotator, campaign=campaign)
    if failures < limit:
        return False
    Annotator.objects.filter(pk=annotation.annotator_id).update(
        paused=True,
        # Stored in English (admins read it); shown translated (paused_reason_text).
        paused_reason=GOLD_PAUSE_REASON,
    )
    return True


def paused_reason_text(reason: str) -> str:
    """A stored pause reason in the active language: Chorus's own reasons are
    translated, one an admin wrote is shown as written."""
    return gettext(reason) if reason else gettext("Your account is paused.")


def submit_notices(*, annotation: Annotation, campaign: Campaign) -> list[str]:
    """Sentences to show the annotator after a submit (their label is stored either way)."""
    notices = []
    if annotation.flags.get("too_fast"):
        seconds = (campaign.config or {}).get("min_seconds", 0)
        notices.append(
            gettext(
                "That answer came in faster than the expected minimum of %(seconds)s "
                "seconds, so it is flagged for review. Please take the time to read each "
                "response."
            )
            % {"seconds": seconds}
        )
    return notices


def quality_item_kind(*, campaign: Campaign, rng: random.Random | None = None) -> str | None:
    """Which special item a lease should try first at the configured rates: the Item flag
    ``"is_attention_check"`` or ``"is_gold"``, or None for the ordinary queue."""
    draw = (rng or _rng).random()
    gold_rate, attention_rate = _rate(campaign, "gold_rate"), _rate(campaign, "attention_rate")
    if draw < attention_rate:
        return "is_attention_check"
    if draw < attention_rate + gold_rate:
        return "is_gold"
    return None
