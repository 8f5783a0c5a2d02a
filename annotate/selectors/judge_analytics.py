"""The ``judges`` analytics of a campaign: judgments and human labels as plain records
for ``annotate.analytics.judge_report`` (see its docstring for units and categories).

The judge's side is read from its Judgments, not from its AI labels, so every prompt
version keeps its figures after a newer version replaced the label. Human labels are
``Annotation.objects`` (human only). Four queries per judge plus two for the campaign.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from annotate.analytics.judge_report import HumanRow, TaskBlock, parse_summary, task_report
from annotate.analytics.judge_swap import FIRST, MISSING, SECOND, TIE, aggregate_verdicts
from annotate.exports.privacy import CATEGORICAL_FIELDS
from annotate.models import Annotation, Campaign, Item, ItemResponse, Judge, Judgment
from annotate.services.judge_labels import judge_policy

_SHOWN = {"A": FIRST, "tie": TIE, "B": SECOND}
TASK_TYPES = ("pairwise", "rating", "ranking")


def _item_language_field() -> bool:
    """Items carry a language once issue 17's item languages are in (a field)."""
    return any(f.name == "language" for f in Item._meta.get_fields())


def _canonical_orders(campaign: Campaign) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for item_id, rid in (
        ItemResponse.objects.filter(item__campaign=campaign)
        .order_by("item_id", "position")
        .values_list("item_id", "response_id")
    ):
        out[item_id].append(rid)
    return out


def _human_category(task_type: str, payload: Any, order: list[int]) -> list[tuple[int, int]]:
    """[(response id or 0, category)] of one human label (see judge_report)."""
    if not isinstance(payload, dict) or not order:
        return []
    if task_type == "pairwise":
        if payload.get("choice") == "tie":
            return [(0, TIE)]
        chosen = payload.get("chosen")
        if chosen not in order[:2]:
            return []
        return [(0, FIRST if chosen == order[0] else SECOND)]
    if task_type == "ranking":
        groups = payload.get("ranking") or []
        if not groups or len(groups[0]) != 1 or groups[0][0] not in order:
            return [(0, MISSING)]
        return [(0, order.index(groups[0][0]))]
    return []


def _rating_categories(payload: Any, attribute: str, low: int) -> list[tuple[int, int]]:
    out = []
    for rid, values in ((payload or {}).get("ratings") or {}).items():
        if isinstance(values, dict) and isinstance(values.get(attribute), int):
            out.append((int(rid), int(values[attribute]) - low))
    return out


def _unit(task_type: str, item_id: int, response_id: int) -> int:
    # Ratings are per (item, response); a response id is unique, so it is the unit.
    return response_id if task_type == "rating" else item_id


def _humans(campaign: Campaign, orders: dict[int, list[int]]) -> dict[str, list[HumanRow]]:
    fields = [f"profile_version__{f}" for f in CATEGORICAL_FIELDS]
    low = campaign.rating_range[0]
    out: dict[str, list[HumanRow]] = defaultdict(list)
    rows = Annotation.objects.filter(campaign=campaign, task_type__in=TASK_TYPES).values_list(
        "item_id", "annotator_id", "task_type", "payload", *fields
    )
    for item_id, annotator_id, task_type, payload, *profile in rows:
        groups = {f: str(v) for f, v in zip(CATEGORICAL_FIELDS, profile, strict=True) if v}
        if task_type == "rating":
            cats = _rating_categories(payload, campaign.overall_attribute, low)
        else:
            cats = _human_category(task_type, payload, orders.get(item_id, []))
        for rid, cat in cats:
            out[task_type].append(
                HumanRow(_unit(task_type, item_id, rid), annotator_id, cat, groups)
            )
    return out


def _judge_blocks(
    judge: Judge, orders: dict[int, list[int]], k_rating: int
) -> tuple[dict[str, TaskBlock], list[str]]:
    low = judge.campaign.rating_range[0]
    policy = judge_policy(judge)
    blocks: dict[str, TaskBlock] = {}
    statuses: list[str] = []
    pairs: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    rows = Judgment.objects.filter(judge=judge).values_list(
        "item_id",
        "judge_prompt__task_type",
        "prompt_version",
        "order",
        "response_id",
        "parsed",
        "parse_ok",
        "parse_status",
    )
    for item_id, task_type, version, order, rid, parsed, ok, status in rows:
        statuses.append(status)
        k = {"pairwise": 3, "rating": k_rating}.get(task_type, max(len(orders.get(item_id, [])), 2))
        block = blocks.setdefault(
            task_type, TaskBlock(k=k, weighting="quadratic" if task_type == "rating" else "none")
        )
        block.k = max(block.k, k)
        judged = block.judge.setdefault(version, {})
        if task_type == "pairwise":
            shown = _SHOWN.get(str(parsed), MISSING) if ok else MISSING
            canonical = shown if shown == MISSING or order == "AB" else 2 - shown
            pairs[(item_id, version)][order] = canonical
        elif task_type == "rating":
            judged[rid] = int(parsed) - low if ok and parsed is not None else MISSING
        else:
            best = parsed[0] if ok and parsed else None
            item_order = orders.get(item_id, [])
            judged[item_id] = item_order.index(best) if best in item_order else MISSING
    if pairs:
        block = blocks["pairwise"]
        newest = max(block.judge)
        for (item_id, version), verdicts in sorted(pairs.items()):
            v1, v2 = verdicts.get("AB", MISSING), verdicts.get("BA", MISSING)
            (cat,) = aggregate_verdicts([v1], [v2], policy=policy)  # type: ignore[arg-type]
            block.judge[version][item_id] = int(cat)
            if version == newest:
                block.swap_v1.append(v1)
                block.swap_v2.append(v2)
    return blocks, statuses


def campaign_judges_report(
    *, campaign: Campaign, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """``{judge name: {...}}`` for every judge of the campaign (see analytics README)."""
    judges = list(Judge.objects.filter(campaign=campaign).select_related("endpoint", "campaign"))
    if not judges:
        return {}
    orders = _canonical_orders(campaign)
    humans = _humans(campaign, orders)
    low, high = campaign.rating_range
    languages: dict[int, str] = {}
    if _item_language_field():
        field_name = "language"  # a name, so the stubs do not check a field added later
        languages = {
            pk: str(lang)
            for pk, lang in Item.objects.filter(campaign=campaign).values_list("pk", field_name)
            if lang
        }
    out: dict[str, Any] = {}
    for judge in judges:
        blocks, statuses = _judge_blocks(judge, orders, high - low + 1)
        report: dict[str, Any] = {
            "endpoint": judge.endpoint.name,
            "enabled": judge.enabled,
            "policy": judge_policy(judge),
            "n_ai_labels": Annotation.all_sources.filter(judge=judge).count(),
            "parse": parse_summary(statuses),
            "task_types": {},
        }
        for task_type, block in blocks.items():
            block.humans = humans.get(task_type, [])
            if languages:
                if task_type == "rating":
                    by_response = {
                        rid: languages.get(item_id, "")
                        for item_id, rids in orders.items()
                        for rid in rids
                    }
                    block.language = {u: v for u, v in by_response.items() if v}
                else:
                    block.language = languages
            report["task_types"][task_type] = task_report(
                block, profile_fields=CATEGORICAL_FIELDS, n_boot=n_boot, seed=seed
            )
        out[judge.name] = report
    return out
