"""Store a finished generation: its Response, then what the response is for.

A live reply becomes an assistant turn of its conversation; the last candidate of a
pre-generated batch to finish assembles the item (``item_create_for_responses``). The
whole batch is locked, so exactly one finisher assembles, and a response is stored once
even when a redelivered task races the first one.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Response, Role, Turn
from annotate.services.items import item_create_for_responses
from modelserve.generation.backends import SamplingParams
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus


def generation_finish(
    *, req: GenerationRequest, result_text: str, result: Any, params: SamplingParams
) -> GenerationRequest:
    """Store the response once. Locks the whole batch so the last finisher assembles."""
    with transaction.atomic():
        batch = list(
            GenerationRequest.objects.select_for_update().filter(batch=req.batch).order_by("id")
        )
        mine = next(r for r in batch if r.pk == req.pk)
        if mine.response_id is not None or mine.status == GenerationStatus.DONE:
            return mine  # a concurrent duplicate got here first; keep its response
        if mine.purpose == GenerationPurpose.JUDGE:
            return _finish_judge(req=mine, result_text=result_text, result=result)
        response = Response.objects.create(
            prompt_id=mine.prompt_id,
            text=result_text,
            source="model",
            endpoint_id=mine.endpoint_id,
            policy_version_id=req.endpoint.policy_version_id,
            generation_params=params.as_dict(),
            sample_index=mine.sample_index,
            n_tokens=result.n_tokens,
            latency_ms=result.latency_ms,
            metadata={
                "first_token_ms": result.first_token_ms,
                "finish_reason": result.finish_reason,
                "notice": result.notice,
                "model": result.model,
                "generation_request": mine.pk,
            },
        )
        mine.response = response
        mine.status = GenerationStatus.DONE
        mine.error = ""
        mine.partial_text = result_text
        mine.n_tokens = result.n_tokens
        mine.latency_ms = result.latency_ms
        mine.first_token_ms = result.first_token_ms
        mine.finish_reason = result.finish_reason[:8]
        mine.notice = result.notice[:300]
        mine.finished_at = timezone.now()
        mine.save(
            update_fields=[
                "response",
                "status",
                "error",
                "partial_text",
                "n_tokens",
                "latency_ms",
                "first_token_ms",
                "finish_reason",
                "notice",
                "finished_at",
            ]
        )
        if mine.purpose == GenerationPurpose.LIVE:
            _attach_turn(req=mine, response=response)
        elif all(r.status == GenerationStatus.DONE for r in batch) and not any(
            r.item_id for r in batch
        ):
            _assemble_item(batch)
    return mine


def _finish_judge(*, req: GenerationRequest, result_text: str, result: Any) -> GenerationRequest:
    """A judge's answer is no candidate response: it stays on the request, where the
    judge job (annotate.services.judges) reads and parses it."""
    req.status = GenerationStatus.DONE
    req.error = ""
    req.partial_text = result_text
    req.n_tokens = result.n_tokens
    req.latency_ms = result.latency_ms
    req.first_token_ms = result.first_token_ms
    req.finish_reason = result.finish_reason[:8]
    req.finished_at = timezone.now()
    req.save(
        update_fields=[
            "status",
            "error",
            "partial_text",
            "n_tokens",
            "latency_ms",
            "first_token_ms",
            "finish_reason",
            "finished_at",
        ]
    )
    return req


def _attach_turn(*, req: GenerationRequest, response: Response) -> None:
    """A live reply becomes an assistant turn under the user turn it answers."""
    prompt = req.prompt
    if prompt.turn_id is None:
        return
    parent = Turn.objects.get(pk=prompt.turn_id)
    Turn.objects.create(
        conversation_id=parent.conversation_id,
        parent=parent,
        role=Role.ASSISTANT,
        text=response.text,
        depth=parent.depth + 1,
        response=response,
    )


def _assemble_item(batch: list[GenerationRequest]) -> None:
    first = batch[0]
    responses = list(Response.objects.filter(pk__in=[r.response_id for r in batch]).order_by("id"))
    item = item_create_for_responses(
        campaign=first.campaign,
        task_type=first.task_type,
        prompt=first.prompt,
        responses=responses,
        metadata={"source": "pregenerated", "generation_batch": first.batch},
    )
    GenerationRequest.objects.filter(pk__in=[r.pk for r in batch]).update(item=item)
