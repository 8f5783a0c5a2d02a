"""Reads of judging: which items a judge still has to label, and the questions to ask.

A question is one model call: a pairwise item is asked twice (AB, then BA with the two
responses swapped, so position bias shows and can be cancelled), a rating item once per
response, a ranking item once. Questions whose judgment is already stored at the current
prompt version are not asked again, so a judging job is safe to rerun.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from annotate.campaign_config import section_values
from annotate.campaign_config.judges import Judges
from annotate.judge_prompts import pairwise_messages, ranking_messages, rating_messages
from annotate.models import Item, ItemResponse, Judge, JudgePrompt, Judgment

MIN_RESPONSES = {"pairwise": 2, "ranking": 2, "rating": 1}


@dataclass(frozen=True)
class Question:
    item_id: int
    prompt: JudgePrompt
    order: str  # "AB" | "BA"
    response_id: int  # rating: the response rated; else 0
    shown: list[int]  # response ids in the order shown
    messages: list[dict[str, str]]


def judges_of(*, campaign_id: int, judge_ids: Sequence[int] | None = None) -> QuerySet[Judge]:
    qs = Judge.objects.filter(campaign_id=campaign_id, enabled=True).select_related(
        "campaign", "endpoint", "annotator"
    )
    if judge_ids is not None:
        qs = qs.filter(pk__in=list(judge_ids))
    return qs.order_by("id")


def judge_current_prompts(*, judge: Judge) -> dict[str, JudgePrompt]:
    """The newest prompt version per task type (one query)."""
    out: dict[str, JudgePrompt] = {}
    for p in JudgePrompt.objects.filter(judge=judge).order_by("task_type", "-version"):
        out.setdefault(p.task_type, p)
    return out


def judge_items_todo(
    *,
    judge: Judge,
    prompts: dict[str, JudgePrompt],
    item_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[Item]:
    """Open items of the judge's campaign that it can label and has not finished at the
    current prompt version, oldest first, at most ``limit`` (default: the config's)."""
    config = section_values(judge.campaign.config, Judges)
    task_types = [t for t in config.task_types if t in prompts]  # type: ignore[attr-defined]
    limit = limit or config.limit  # type: ignore[attr-defined]
    if not task_types:
        return []
    done = Q()
    for task_type in task_types:
        done |= Q(judge_prompt__task_type=task_type, prompt_version=prompts[task_type].version)
    qs = (
        Item.objects.filter(campaign=judge.campaign, task_type__in=task_types, prompt__isnull=False)
        .annotate(n_responses=Count("item_responses"))
        .exclude(
            pk__in=Judgment.objects.filter(done, judge=judge)
            .exclude(parse_status="pending")
            .values("item_id")
        )
    )
    if item_ids is not None:
        qs = qs.filter(pk__in=list(item_ids))
    enough = Q()
    for task_type in task_types:
        enough |= Q(task_type=task_type, n_responses__gte=MIN_RESPONSES[task_type])
    return list(qs.filter(enough).select_related("prompt", "campaign").order_by("id")[:limit])


def judge_questions(
    *, judge: Judge, items: Sequence[Item], prompts: dict[str, JudgePrompt]
) -> list[Question]:
    """The model calls still to make for ``items`` (two queries)."""
    texts: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for item_id, rid, text in (
        ItemResponse.objects.filter(item__in=list(items))
        .order_by("item_id", "position")
        .values_list("item_id", "response_id", "response__text")
    ):
        texts[item_id].append((rid, text))
    asked = set(
        Judgment.objects.filter(judge=judge, item__in=list(items)).values_list(
            "item_id", "prompt_version", "order", "response_id"
        )
    )
    out: list[Question] = []
    for item in items:
        prompt = prompts[item.task_type]
        question = item.prompt.text if item.prompt else ""
        responses = texts[item.pk]
        for order, response_id, shown, messages in _calls(item, prompt, question, responses):
            if (item.pk, prompt.version, order, response_id) not in asked:
                out.append(Question(item.pk, prompt, order, response_id, shown, messages))
    return out


def _calls(
    item: Item, prompt: JudgePrompt, question: str, responses: list[tuple[int, str]]
) -> list[tuple[str, int, list[int], list[dict[str, str]]]]:
    system, template = prompt.system, prompt.template
    if item.task_type == "pairwise":
        (a, ta), (b, tb) = responses[:2]
        return [
            (
                "AB",
                0,
                [a, b],
                pairwise_messages(
                    system=system, template=template, prompt=question, first=ta, second=tb
                ),
            ),
            (
                "BA",
                0,
                [b, a],
                pairwise_messages(
                    system=system, template=template, prompt=question, first=tb, second=ta
                ),
            ),
        ]
    if item.task_type == "rating":
        low, high = item.campaign.rating_range
        return [
            (
                "AB",
                rid,
                [rid],
                rating_messages(
                    system=system,
                    template=template,
                    prompt=question,
                    response=text,
                    low=low,
                    high=high,
                ),
            )
            for rid, text in responses
        ]
    return [
        (
            "AB",
            0,
            [rid for rid, _ in responses],
            ranking_messages(
                system=system,
                template=template,
                prompt=question,
                responses=[t for _, t in responses],
            ),
        )
    ]
