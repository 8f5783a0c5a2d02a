"""Run a campaign's AI judges through the batched generation path (issue 16).

One job (``generate_judgments``, on the "generate" queue where the model is warm) per
campaign: for each enabled judge, the questions still to ask
(``annotate.selectors.judges``) become ``GenerationRequest`` rows (purpose "judge", the
judge's messages on the row, the item's prompt as the ledger key) with a pending
``Judgment`` each, in one transaction. They then run ``batch_size`` at a time through
``generation_run_batch``, the same claim/batch/record path as candidate generation, so a
judge on the local SmolLM2 answers several questions in one batched forward pass, and an
OpenAI-compatible judge gets the same retries and error records. Each answer is parsed
and stored (``annotate.services.judge_labels``), then each item's AI label is updated.

Safe to run twice: stored judgments are not asked again, and a pending one left by a
killed job is picked up by the next (its request is run, or read if it already ran).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max

from annotate.campaign_config import section_values
from annotate.campaign_config.judges import Judges
from annotate.models import Item, Judge, Judgment
from annotate.selectors.judges import (
    Question,
    judge_current_prompts,
    judge_items_todo,
    judge_questions,
    judges_of,
)
from annotate.services.judge_labels import PENDING, judge_label_update, judgment_record
from modelserve.generation.batch import generation_run_batch
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus

logger = logging.getLogger(__name__)


@dataclass
class JudgeRunReport:
    """What one job did, per judge name: counts a person (or the CLI) can read."""

    judges: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, judge: str, key: str, n: int = 1) -> None:
        counts = self.judges.setdefault(
            judge, {"items": 0, "asked": 0, "parsed": 0, "unparsable": 0, "failed": 0, "labels": 0}
        )
        counts[key] = counts.get(key, 0) + n


def _params(judge: Judge) -> dict[str, Any]:
    config = section_values(judge.campaign.config, Judges)
    return {
        **{k: v for k, v in (judge.endpoint.params or {}).items() if k in ("timeout_s", "top_p")},
        "temperature": config.temperature,  # type: ignore[attr-defined]
        "max_new_tokens": config.max_new_tokens,  # type: ignore[attr-defined]
        "seed": 0,
    }


def _plan(judge: Judge, items: Sequence[Item], questions: Sequence[Question]) -> list[int]:
    """Create a request and a pending judgment per question; the request ids.

    Locks the judge row: two jobs for the same judge plan one after the other, and the
    second finds the first one's judgments (the unique key would refuse duplicates).
    """
    by_id = {i.pk: i for i in items}
    params = _params(judge)
    with transaction.atomic():
        Judge.objects.select_for_update().filter(pk=judge.pk).first()
        taken = set(
            Judgment.objects.filter(judge=judge, item__in=list(by_id)).values_list(
                "item_id", "prompt_version", "order", "response_id"
            )
        )
        prompts = {by_id[q.item_id].prompt_id for q in questions}
        used = {
            row["prompt_id"]: row["m"]
            for row in GenerationRequest.objects.filter(
                prompt_id__in=prompts, endpoint=judge.endpoint
            )
            .values("prompt_id")
            .annotate(m=Max("sample_index"))
        }
        batch = f"judge-{judge.pk}-{uuid.uuid4().hex[:16]}"
        ids = []
        for q in questions:
            if (q.item_id, q.prompt.version, q.order, q.response_id) in taken:
                continue
            item = by_id[q.item_id]
            assert item.prompt_id is not None  # judge_items_todo takes items with a prompt
            index = used.get(item.prompt_id, -1) + 1
            used[item.prompt_id] = index
            req = GenerationRequest.objects.create(
                campaign=judge.campaign,
                prompt_id=item.prompt_id,
                endpoint=judge.endpoint,
                sample_index=index,
                purpose=GenerationPurpose.JUDGE,
                batch=batch,
                task_type=item.task_type,
                params=params,
                messages=q.messages,
                item=item,
                # Not "" so the recovery sweep (which re-sends pending requests without a
                # task id) leaves them to this job; a killed job's leftovers are resumed
                # by the next judging job instead.
                celery_task_id=batch,
            )
            Judgment.objects.create(
                judge=judge,
                item=item,
                judge_prompt=q.prompt,
                prompt_version=q.prompt.version,
                order=q.order,
                response_id=q.response_id,
                shown=q.shown,
                parse_status=PENDING,
                generation_request=req,
            )
            ids.append(req.pk)
    return ids


def _collect(judge: Judge, request_ids: Sequence[int], report: JudgeRunReport) -> set[int]:
    """Record the judgments of finished requests; the ids of the items touched."""
    touched: set[int] = set()
    rows = (
        Judgment.objects.filter(
            judge=judge, parse_status=PENDING, generation_request_id__in=list(request_ids)
        )
        .select_related("generation_request", "judge_prompt", "item__campaign")
        .order_by("id")
    )
    for judgment in rows:
        req = judgment.generation_request
        assert req is not None
        if req.status == GenerationStatus.DONE:
            judgment_record(judgment=judgment, text=req.partial_text, latency_ms=req.latency_ms)
            report.add(judge.name, "parsed" if judgment.parse_ok else "unparsable")
        elif req.status == GenerationStatus.FAILED:
            judgment_record(judgment=judgment, text=req.error, failed=True)
            report.add(judge.name, "failed")
        else:
            continue
        touched.add(judgment.item_id)
    return touched


def judge_campaign_run(
    *,
    campaign_id: int,
    judge_ids: Sequence[int] | None = None,
    item_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> JudgeRunReport:
    """Judge the campaign's items with its enabled judges (see the module docstring)."""
    report = JudgeRunReport()
    for judge in judges_of(campaign_id=campaign_id, judge_ids=judge_ids):
        prompts = judge_current_prompts(judge=judge)
        batch_size = section_values(judge.campaign.config, Judges).batch_size  # type: ignore[attr-defined]
        pending = Judgment.objects.filter(judge=judge, parse_status=PENDING)
        if item_ids is not None:
            pending = pending.filter(item_id__in=list(item_ids))
        # Left by a killed job: run (or read) them first.
        leftover = [pk for pk in pending.values_list("generation_request_id", flat=True) if pk]
        items = judge_items_todo(judge=judge, prompts=prompts, item_ids=item_ids, limit=limit)
        report.add(judge.name, "items", len(items))
        ids = leftover + _plan(
            judge, items, judge_questions(judge=judge, items=items, prompts=prompts)
        )
        report.add(judge.name, "asked", len(ids))
        touched: set[int] = set()
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            generation_run_batch(request_ids=chunk, final_attempt=True)
            touched |= _collect(judge, chunk, report)
        for item in Item.objects.filter(pk__in=touched).select_related("campaign").order_by("id"):
            prompt = prompts.get(item.task_type)
            if prompt is not None and judge_label_update(judge=judge, item=item, prompt=prompt):
                report.add(judge.name, "labels")
    return report
