"""What a judging job stores: each answer as a Judgment, and the AI label they add up to.

``judgment_record`` parses one model answer (``annotate.analytics.judge_parse`` /
``judge_ranking``: total functions, so an odd output is stored with its status and
counted, never a crash). ``judge_label_update`` turns an item's judgments at the current
prompt version into the judge's one Annotation (``source="ai"``) for the item:

- pairwise: the AB and BA verdicts, in the canonical orientation, combined by the
  swap policy (``annotate.analytics.judge_swap.aggregate_verdicts``); under "drop" an
  inconsistent or incomplete pair gives no label;
- rating: one judgment per response; a label when every response got a parsed rating;
- ranking: one judgment; a label when it parsed to an ordering of every response.

The label has the payload shape of a human label (``annotate.payloads``), so exports and
analytics read it the same way once a caller asks for AI labels. A judge's labels never
take an assignment, an overlap slot or an item's submitted count.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.analytics.judge_parse import parse_judgment
from annotate.analytics.judge_ranking import parse_ranking
from annotate.analytics.judge_swap import FIRST, MISSING, SECOND, TIE, aggregate_verdicts
from annotate.campaign_config import section_values
from annotate.campaign_config.judges import Judges
from annotate.models import (
    Annotation,
    AnnotationSource,
    Item,
    Judge,
    JudgePrompt,
    Judgment,
    JudgmentOrder,
)

PENDING = "pending"
FAILED = "failed"
# A shown pairwise answer as a category of the order it was shown in.
_SHOWN = {"A": FIRST, "tie": TIE, "B": SECOND}


def judge_policy(judge: Judge) -> str:
    """The judge's own swap policy, else the campaign's ``judges.inconsistent_policy``."""
    if judge.inconsistent_policy:
        return judge.inconsistent_policy
    return str(section_values(judge.campaign.config, Judges).inconsistent_policy)  # type: ignore[attr-defined]


def judgment_record(
    *, judgment: Judgment, text: str, failed: bool = False, latency_ms: int | None = None
) -> Judgment:
    """Parse and store one answer (or the error of a failed call). Never raises on the
    text; a judgment already recorded is left as it is (a redelivered job)."""
    if judgment.parse_status != PENDING:
        return judgment
    task_type = judgment.judge_prompt.task_type
    parsed: Any
    if failed:
        status, parsed = FAILED, None
    elif task_type == "ranking":
        result = parse_ranking(text, n=len(judgment.shown))
        status = result.status
        # Response numbers (1-based, as shown) to response ids, best first.
        parsed = (
            [judgment.shown[i - 1] for i in result.answer] if result.ok and result.answer else None
        )
    elif task_type == "rating":
        low, high = judgment.item.campaign.rating_range
        r = parse_judgment(text, kind="rating", low=low, high=high)
        status, parsed = r.status, r.answer if r.ok else None
    else:
        r = parse_judgment(text, kind="pairwise")
        status, parsed = r.status, r.answer if r.ok else None
    judgment.raw_output = (text or "")[:20_000]
    judgment.parse_status = status
    judgment.parse_ok = status == "ok"
    judgment.parsed = parsed
    judgment.latency_ms = latency_ms
    judgment.save(update_fields=["raw_output", "parse_status", "parse_ok", "parsed", "latency_ms"])
    return judgment


def _canonical(judgment: Judgment | None) -> int:
    """A pairwise judgment as a canonical category (0 first better, 1 tie, 2 second)."""
    if judgment is None or not judgment.parse_ok:
        return MISSING
    shown = _SHOWN.get(str(judgment.parsed), MISSING)
    if shown == MISSING or judgment.order == JudgmentOrder.AB:
        return shown
    return 2 - shown


def pairwise_payload(response_ids: list[int], category: int) -> dict[str, Any]:
    """The label of a canonical category, in the shape of a human pairwise label."""
    a, b = response_ids
    choice = {FIRST: "A", TIE: "tie", SECOND: "B"}[category]
    chosen, rejected = {"A": (a, b), "B": (b, a), "tie": (None, None)}[choice]
    return {
        "choice": choice,
        "strength": None,
        "reason": "",
        "response_ids": [a, b],
        "chosen": chosen,
        "rejected": rejected,
    }


def _label(
    judge: Judge, item: Item, judgments: list[Judgment], response_ids: list[int]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(payload or None, flags) for an item from its judgments at one prompt version."""
    flags: dict[str, Any] = {"judgments": [j.pk for j in judgments]}
    if item.task_type == "pairwise":
        by_order = {j.order: j for j in judgments}
        v1, v2 = _canonical(by_order.get("AB")), _canonical(by_order.get("BA"))
        policy = judge_policy(judge)
        (verdict,) = aggregate_verdicts([v1], [v2], policy=policy)  # type: ignore[arg-type]
        both = v1 >= 0 and v2 >= 0
        flags["swap"] = ("consistent" if v1 == v2 else "inconsistent") if both else "incomplete"
        flags["policy"] = policy
        if verdict == MISSING:
            return None, flags
        return pairwise_payload(response_ids, int(verdict)), flags
    if item.task_type == "rating":
        values = {j.response_id: j.parsed for j in judgments if j.parse_ok}
        if set(values) != set(response_ids):
            return None, flags
        attribute = item.campaign.overall_attribute
        return {"ratings": {str(rid): {attribute: values[rid]} for rid in response_ids}}, flags
    ranked = next((j.parsed for j in judgments if j.parse_ok), None)
    if not ranked:
        return None, flags
    return {"ranking": [[rid] for rid in ranked]}, flags


@transaction.atomic
def judge_label_update(*, judge: Judge, item: Item, prompt: JudgePrompt) -> Annotation | None:
    """Make the judge's AI label of ``item`` agree with its judgments at ``prompt``'s
    version: create, replace (a newer prompt version) or remove it (no label). Returns
    the label, or None. Waits until no judgment of the item is pending."""
    judgments = list(
        Judgment.objects.filter(judge=judge, item=item, prompt_version=prompt.version).order_by(
            "id"
        )
    )
    if not judgments or any(j.parse_status == PENDING for j in judgments):
        return None
    response_ids = list(
        item.item_responses.order_by("position").values_list("response_id", flat=True)
    )
    payload, flags = _label(judge, item, judgments, response_ids)
    existing = Annotation.all_sources.filter(judge=judge, item=item).first()
    if payload is None:
        if existing is not None:
            existing.delete()
        return None
    fields = {
        "payload": payload,
        "flags": flags,
        "judge_prompt_version": prompt.version,
        "time_spent_ms": sum(j.latency_ms or 0 for j in judgments) or None,
    }
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.created_at = timezone.now()
        existing.save(update_fields=[*fields, "created_at"])
        return existing
    return Annotation.all_sources.create(
        item=item,
        campaign=item.campaign,
        annotator=judge.annotator,
        task_type=item.task_type,
        source=AnnotationSource.AI,
        judge=judge,
        **fields,
    )
