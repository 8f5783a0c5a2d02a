"""Generation requests: plan the K candidates of a prompt, record them, enqueue them.

Campaign.config keys read here (all optional):
- ``candidates_per_prompt`` (int, default 2): responses generated per pre-generated item;
  clamped to what the chosen task type shows (pairwise 2, edit/critique 1).
- ``diversity`` (list, default ``["endpoints"]``): how the K candidates differ. Any of
  ``"endpoints"`` (round-robin over the campaign's enabled pool), ``"temperatures"``
  (``diversity_temperatures``, default [0.4, 0.8, 1.1, 0.6]) and ``"system_prompts"``
  (``diversity_system_prompts``). Every candidate also gets its own seed.
- ``generation_params`` (object): sampling overrides for the whole campaign, applied over
  each endpoint's ``params`` (e.g. ``{"max_new_tokens": 128}``).
- ``language_system_prompts`` (object): per prompt language, the instruction added to
  every candidate's system prompt (modelserve.generation.languages holds the defaults).

Running a request is ``modelserve.generation.batch``; storing its response is
``modelserve.generation.finish``. The task is enqueued by name (``GENERATE_BATCH``), so
this module does not import the tasks module that imports it.
"""

from __future__ import annotations

import logging
import random
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from annotate.models import Campaign, Prompt
from annotate.tasks_util import enqueue
from modelserve.generation.backends import SamplingParams
from modelserve.generation.languages import system_prompt_for_language
from modelserve.generation.models import GenerationRequest, GenerationStatus, ModelEndpoint

logger = logging.getLogger(__name__)

# Celery task names (stored in queued messages and routed by CELERY_TASK_ROUTES: never
# rename one without keeping the old name routable).
GENERATE_BATCH = "modelserve.tasks.generate_batch"
GENERATE_RESPONSE = "modelserve.tasks.generate_response"

DEFAULT_TEMPERATURES = [0.4, 0.8, 1.1, 0.6]
DEFAULT_SYSTEM_PROMPTS = [
    "You are a helpful assistant. Answer clearly and concisely.",
    "You are a friendly assistant. Explain your reasoning step by step.",
    "You are a careful assistant. Be precise and mention any caveats.",
    "You are a creative assistant. Give a vivid, engaging answer.",
]


def candidate_plan(
    *,
    campaign: Campaign,
    endpoints: Sequence[ModelEndpoint],
    k: int,
    strategies: Sequence[str] | None = None,
    language: str = "und",
) -> list[tuple[ModelEndpoint, dict[str, Any]]]:
    """K (endpoint, sampling params) pairs that differ as the campaign's diversity asks.

    ``language``: the prompt's language; its instruction joins every system prompt.
    """
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
        system = system_prompt_for_language(
            str(params.get("system_prompt") or ""),
            language,
            config.get("language_system_prompts") or {},
        )
        if system:
            params["system_prompt"] = system
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
    """One task per set of weights (see ``generation_groups``), after the caller commits.
    ``enqueue`` survives a broker outage (issue 8): ``recovery`` re-sends what was not sent."""
    for ids in generation_groups(request_ids=request_ids):
        task_id = enqueue(GENERATE_BATCH, ids)
        if task_id is None:
            break  # broker down: modelserve.generation.recovery re-sends pending requests later
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
