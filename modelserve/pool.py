"""Pre-generation: keep a per-campaign pool of ready items so nobody waits for a model.

Campaign.config keys read here (all optional):
- ``pregen_pool_size`` (int, default 10; 0 turns pre-generation off): how many open,
  unfilled items of non-live task types the campaign should have ready, counting batches
  still being generated.
- ``items_per_prompt`` (int, default 1): a prompt is a source for new items until it has
  this many.
- ``candidates_per_prompt``, ``diversity``, ``generation_params``: see modelserve.generation.

Source prompts are the campaign's prompts (``prompt_add`` makes bare ones) outside live
conversations that have fewer than ``items_per_prompt`` items, no batch in flight and no
failed request (an admin retries those from the admin, so a broken endpoint is not
hammered every beat). The task type of each new item is drawn from ``Campaign.task_mix``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q

from annotate.models import Campaign, CampaignStatus, Item, ItemStatus, Prompt, Role, TaskType
from modelserve.generation import candidate_plan, endpoint_pool, generation_requests_create
from modelserve.models import GenerationPurpose, GenerationRequest, GenerationStatus

DEFAULT_POOL_SIZE = 10
# How many candidates each task type can show: (min, max); None = no upper bound.
_TASK_RESPONSES: dict[str, tuple[int, int | None]] = {
    TaskType.PAIRWISE: (2, 2),
    TaskType.RANKING: (2, None),
    TaskType.RATING: (1, None),
    TaskType.EDIT: (1, 1),
    TaskType.CRITIQUE: (1, 1),
}
_IN_FLIGHT = (GenerationStatus.PENDING, GenerationStatus.RUNNING)


def pool_size(campaign: Campaign) -> int:
    return max(0, int((campaign.config or {}).get("pregen_pool_size", DEFAULT_POOL_SIZE)))


def pool_status(*, campaign: Campaign) -> dict[str, int]:
    """Ready items and batches in flight (selector used by the topper, admin and bench)."""
    ready = Item.objects.filter(
        campaign=campaign, status=ItemStatus.OPEN, slots_taken__lt=F("overlap")
    ).exclude(task_type=TaskType.CONVERSATION)
    in_flight = (
        GenerationRequest.objects.filter(
            campaign=campaign, purpose=GenerationPurpose.POOL, status__in=_IN_FLIGHT
        )
        .values("batch")
        .distinct()
    )
    return {"ready": ready.count(), "in_flight": in_flight.count(), "target": pool_size(campaign)}


def _pick_task_type(campaign: Campaign) -> str | None:
    mix = {
        t: float(w)
        for t, w in (campaign.task_mix or {}).items()
        if t in _TASK_RESPONSES and float(w) > 0
    }
    if not mix:
        return None
    return random.choices(list(mix), weights=list(mix.values()))[0]


def _n_candidates(task_type: str, wanted: int) -> int:
    low, high = _TASK_RESPONSES[task_type]
    n = max(low, wanted)
    return min(n, high) if high is not None else n


def pool_topup(*, campaign_id: int) -> int:
    """Enqueue generation batches until the pool reaches its target. Returns batches made.

    Locks the campaign row so two toppers (beat and on-demand) never both fill the gap.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.OPEN:
            return 0
        status = pool_status(campaign=campaign)
        deficit = status["target"] - status["ready"] - status["in_flight"]
        endpoints = endpoint_pool(campaign=campaign)
        if deficit <= 0 or not endpoints:
            return 0
        per_prompt = max(1, int((campaign.config or {}).get("items_per_prompt", 1)))
        wanted = int((campaign.config or {}).get("candidates_per_prompt", 2))
        sources = (
            Prompt.objects.filter(campaign=campaign)
            .exclude(conversation__source="live")
            .annotate(
                n_items=Count("items", distinct=True),
                n_busy=Count(
                    "generation_requests",
                    filter=Q(generation_requests__status__in=[*_IN_FLIGHT, "failed"]),
                    distinct=True,
                ),
            )
            .filter(n_items__lt=per_prompt, n_busy=0)
            .order_by("n_items", "id")[:deficit]
        )
        made = 0
        for prompt in sources:
            task_type = _pick_task_type(campaign)
            if task_type is None:
                break
            plan = candidate_plan(
                campaign=campaign, endpoints=endpoints, k=_n_candidates(task_type, wanted)
            )
            generation_requests_create(
                campaign=campaign,
                prompt=prompt,
                plan=plan,
                purpose=GenerationPurpose.POOL,
                task_type=task_type,
            )
            made += 1
    return made


def pool_topup_soon(*, campaign_id: int, debounce_s: int = 5) -> bool:
    """Ask for a top-up, at most once per ``debounce_s`` per campaign. Returns if enqueued."""
    if not cache.add(f"chorus:pool-topup:{campaign_id}", 1, timeout=debounce_s):
        return False
    from annotate.tasks_util import enqueue  # issue 8: never fail on a broker outage
    from modelserve.tasks import generate_pool_topup

    transaction.on_commit(lambda: enqueue(generate_pool_topup, campaign_id))
    return True


def prompt_add(*, campaign: Campaign, messages: Sequence[dict[str, str]] | str) -> Prompt:
    """A bare prompt (no responses yet) that pre-generation will turn into items."""
    if isinstance(messages, str):
        messages = [{"role": Role.USER, "content": messages}]
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    if not messages or messages[-1]["role"] != Role.USER or not messages[-1]["content"].strip():
        raise ValueError("a prompt must end with a non-empty user message")
    return Prompt.objects.create(
        campaign=campaign,
        text=messages[-1]["content"],
        messages=messages,
        metadata={"source": "prompt_add"},
    )
