"""Generation services: plan candidates, run one request, assemble pre-generated items.

Campaign.config keys read here (all optional):
- ``candidates_per_prompt`` (int, default 2): responses generated per pre-generated item;
  clamped to what the chosen task type shows (pairwise 2, edit/critique 1).
- ``diversity`` (list, default ``["endpoints"]``): how the K candidates differ. Any of
  ``"endpoints"`` (round-robin over the campaign's enabled pool), ``"temperatures"``
  (``diversity_temperatures``, default [0.4, 0.8, 1.1, 0.6]) and ``"system_prompts"``
  (``diversity_system_prompts``). Every candidate also gets its own seed.
- ``generation_params`` (object): sampling overrides for the whole campaign, applied over
  each endpoint's ``params`` (e.g. ``{"max_new_tokens": 128}``).
"""

from __future__ import annotations

import logging
import random
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, Prompt, Response, Role, Turn
from annotate.services import item_create_for_responses
from modelserve.backends import BackendError, SamplingParams
from modelserve.models import (
    GenerationPurpose,
    GenerationRequest,
    GenerationStatus,
    ModelEndpoint,
)

logger = logging.getLogger(__name__)

DEFAULT_TEMPERATURES = [0.4, 0.8, 1.1, 0.6]
DEFAULT_SYSTEM_PROMPTS = [
    "You are a helpful assistant. Answer clearly and concisely.",
    "You are a friendly assistant. Explain your reasoning step by step.",
    "You are a careful assistant. Be precise and mention any caveats.",
    "You are a creative assistant. Give a vivid, engaging answer.",
]


def endpoint_pool(*, campaign: Campaign) -> list[ModelEndpoint]:
    """The campaign's enabled endpoints, in a stable order."""
    return list(campaign.model_pool.filter(enabled=True).order_by("id"))


def candidate_plan(
    *,
    campaign: Campaign,
    endpoints: Sequence[ModelEndpoint],
    k: int,
    strategies: Sequence[str] | None = None,
) -> list[tuple[ModelEndpoint, dict[str, Any]]]:
    """K (endpoint, sampling params) pairs that differ as the campaign's diversity asks."""
    if not endpoints:
        raise ValueError("the campaign has no enabled model endpoints in its pool")
    config = campaign.config or {}
    strategies = list(strategies if strategies is not None else config.get("diversity") or [])
    strategies = strategies or ["endpoints"]
    temps = config.get("diversity_temperatures") or DEFAULT_TEMPERATURES
    systems = config.get("diversity_system_prompts") or DEFAULT_SYSTEM_PROMPTS
    # A random starting point spreads load and exposure evenly over the pool.
    offset = random.randrange(len(endpoints)) if "endpoints" in strategies else 0
    plan = []
    for i in range(k):
        endpoint = endpoints[(offset + i) % len(endpoints)]
        params = {**(endpoint.params or {}), **(config.get("generation_params") or {})}
        if "temperatures" in strategies:
            params["temperature"] = temps[i % len(temps)]
        if "system_prompts" in strategies:
            params["system_prompt"] = systems[i % len(systems)]
        params["seed"] = secrets.randbelow(2**31)
        SamplingParams.from_mapping(params)  # refuse a bad config before enqueueing
        plan.append((endpoint, params))
    return plan


def generation_requests_create(
    *,
    campaign: Campaign,
    prompt: Prompt,
    plan: Sequence[tuple[ModelEndpoint, dict[str, Any]]],
    purpose: str,
    task_type: str = "",
) -> list[GenerationRequest]:
    """Create one request per planned candidate and enqueue them after commit.

    Sample indexes continue from what the prompt already has per endpoint, so the unique
    key (prompt, endpoint, sample_index) never collides. Caller should hold a lock that
    serialises request creation for this prompt (the campaign or conversation row).
    """
    batch = uuid.uuid4().hex
    with transaction.atomic():
        used: dict[int, int] = {}
        for endpoint_id, index in GenerationRequest.objects.filter(prompt=prompt).values_list(
            "endpoint_id", "sample_index"
        ):
            used[endpoint_id] = max(used.get(endpoint_id, -1), index)
        rows = []
        for endpoint, params in plan:
            index = used.get(endpoint.pk, -1) + 1
            used[endpoint.pk] = index
            rows.append(
                GenerationRequest(
                    campaign=campaign,
                    prompt=prompt,
                    endpoint=endpoint,
                    sample_index=index,
                    purpose=purpose,
                    batch=batch,
                    task_type=task_type,
                    params=params,
                )
            )
        created = GenerationRequest.objects.bulk_create(rows)
        ids = [r.pk for r in created]
        transaction.on_commit(lambda: generation_enqueue(request_ids=ids))
    return created


def generation_groups(*, request_ids: Sequence[int]) -> list[list[int]]:
    """The ids split by turn and set of weights (endpoint backend, model, URL), in order.

    Each group is one ``generate_batch`` task: the K candidates of a turn on the same
    model are one batched call even when their temperatures or system prompts differ.
    Different turns stay apart, so the requeue sweep never builds one giant batch.
    """
    keys = {
        pk: key
        for pk, *key in GenerationRequest.objects.filter(pk__in=list(request_ids)).values_list(
            "pk", "batch", "endpoint__backend", "endpoint__model", "endpoint__base_url"
        )
    }
    groups: dict[tuple[Any, ...], list[int]] = {}
    for pk in request_ids:
        if pk in keys:
            groups.setdefault(tuple(keys[pk]), []).append(pk)
    return list(groups.values())


def generation_enqueue(*, request_ids: Sequence[int]) -> None:
    """One task per set of weights (see ``generation_groups``), after the caller commits."""
    from annotate.tasks_util import enqueue  # issue 8: a broker outage must not fail requests
    from modelserve.tasks import generate_batch

    for ids in generation_groups(request_ids=request_ids):
        task_id = enqueue(generate_batch, ids)
        if task_id is None:
            break  # broker down: modelserve.recovery re-sends pending requests later
        GenerationRequest.objects.filter(pk__in=ids).update(celery_task_id=task_id)


def generation_retry(*, request_ids: Sequence[int]) -> int:
    """Admin action: put failed requests back in the queue."""
    ids = list(
        GenerationRequest.objects.filter(
            pk__in=request_ids, status=GenerationStatus.FAILED
        ).values_list("pk", flat=True)
    )
    GenerationRequest.objects.filter(pk__in=ids).update(
        status=GenerationStatus.PENDING, error="", attempts=0
    )
    transaction.on_commit(lambda: generation_enqueue(request_ids=ids))
    return len(ids)


class RetryLater(Exception):
    """The backend failed in a way worth retrying; the task schedules the retry."""

    def __init__(self, error: BackendError):
        super().__init__(str(error))
        self.error = error


def generation_run(
    *, request_id: int, final_attempt: bool = True, max_attempts: int = 10
) -> GenerationRequest | None:
    """Generate the response for one request. Safe to run twice or concurrently.

    Returns None if the request no longer exists. Raises RetryLater when the backend
    failed retryably and this is not the final attempt; otherwise failures are recorded
    on the request (status failed, error) and it is returned. A batch of one of
    ``generation_batch.generation_run_batch``.
    """
    from modelserve.generation_batch import generation_run_batch

    out = generation_run_batch(
        request_ids=[request_id], final_attempt=final_attempt, max_attempts=max_attempts
    )
    if out.retry_ids and out.retry_error is not None:
        raise RetryLater(out.retry_error)
    return out.requests.get(request_id)


def _generation_finish(
    *, req: GenerationRequest, result_text: str, result: Any, params: SamplingParams
) -> GenerationRequest:
    """Store the response once. Locks the whole batch so the last finisher assembles."""
    with transaction.atomic():
        batch = list(
            GenerationRequest.objects.select_for_update().filter(batch=req.batch).order_by("id")
        )
        mine = next(r for r in batch if r.pk == req.pk)
        if mine.response_id is not None:
            return mine  # a concurrent duplicate got here first; keep its response
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
