"""Pre-generation: keep a per-campaign pool of ready items so nobody waits for a model.

Campaign.config keys read here (all optional):
- ``pregen_pool_size`` (int, default 10; 0 turns pre-generation off): how many open,
  unfilled items of non-live task types the campaign should have ready, counting batches
  still being generated.
- ``items_per_prompt`` (int, default 1): a prompt is a source for new items until it has
  this many.
- ``candidates_per_prompt``, ``diversity``, ``generation_params``: see
  modelserve.generation.requests.

Source prompts are the campaign's prompts (``prompt_add`` makes bare ones) outside live
conversations that have fewer than ``items_per_prompt`` items, no batch in flight and no
failed request (an admin retries those from the admin, so a broken endpoint is not
hammered every beat). The task type of each new item is drawn from ``Campaign.task_mix``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from django.core.cache import cache
from django.db import transaction

from annotate.input.language import UNDETERMINED, language_tag
from annotate.models import Campaign, CampaignStatus, Prompt, Role, TaskType
from annotate.tasks_util import enqueue
from modelserve.generation.models import GenerationPurpose
from modelserve.generation.requests import candidate_plan, generation_requests_create
from modelserve.generation.selectors import (
    campaigns_with_pool,
    endpoint_pool,
    pool_has_endpoints,
    pool_sources,
    pool_status,
)

logger = logging.getLogger(__name__)
GENERATE_POOL_TOPUP = "modelserve.tasks.generate_pool_topup"
# How many candidates each task type can show: (min, max); None = no upper bound.
_TASK_RESPONSES: dict[str, tuple[int, int | None]] = {
    TaskType.PAIRWISE: (2, 2),
    TaskType.RANKING: (2, None),
    # Best-worst scaling: from K >= 3 responses (with two it is a pairwise choice).
    TaskType.BWS: (3, None),
    TaskType.RATING: (1, None),
    TaskType.EDIT: (1, 1),
    TaskType.CRITIQUE: (1, 1),
}


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
        sources = pool_sources(campaign=campaign, per_prompt=per_prompt, limit=deficit)
        made = 0
        for prompt in sources:
            task_type = _pick_task_type(campaign)
            if task_type is None:
                break
            plan = candidate_plan(
                campaign=campaign,
                endpoints=endpoints,
                k=_n_candidates(task_type, wanted),
                language=prompt.language,
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


def pool_topup_all() -> int:
    """Top up every open campaign that has an enabled model pool. Returns batches made."""
    made = 0
    for campaign_id in campaigns_with_pool():
        try:
            made += pool_topup(campaign_id=campaign_id)
        except Exception:  # one misconfigured campaign must not starve the others
            logger.exception("pool top-up failed for campaign %s", campaign_id)
    return made


def pool_topup_soon(*, campaign_id: int, debounce_s: int = 5) -> bool:
    """Ask for a top-up, at most once per ``debounce_s`` per campaign, after the caller
    commits. Returns whether one was asked for. Checks the pool only when the debounce
    flag was free, so the hot path (a lease) costs one cache write per few seconds.
    """
    if not cache.add(f"chorus:pool-topup:{campaign_id}", 1, timeout=debounce_s):
        return False
    if not pool_has_endpoints(campaign_id=campaign_id):
        return False
    # enqueue survives a broker outage (issue 8): the beat-scheduled top-up catches up.
    transaction.on_commit(lambda: enqueue(GENERATE_POOL_TOPUP, campaign_id))
    return True


def prompt_add(
    *,
    campaign: Campaign,
    messages: Sequence[dict[str, str]] | str,
    language: str = UNDETERMINED,
) -> Prompt:
    """A bare prompt (no responses yet) that pre-generation will turn into items.

    ``language`` (a BCP 47 tag; ValueError if malformed) is the prompt's: the models are
    asked to answer in it, and its responses and item carry it.
    """
    language = language_tag(language)  # InputError is a ValueError
    if isinstance(messages, str):
        messages = [{"role": Role.USER, "content": messages}]
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    if not messages or messages[-1]["role"] != Role.USER or not messages[-1]["content"].strip():
        raise ValueError("a prompt must end with a non-empty user message")
    return Prompt.objects.create(
        campaign=campaign,
        text=messages[-1]["content"],
        messages=messages,
        language=language,
        metadata={"source": "prompt_add"},
    )
