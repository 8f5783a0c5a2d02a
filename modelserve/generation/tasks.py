"""Celery tasks of generation (found by ``config/celery.py``'s autodiscovery).

Task names are kept as they were before the package split (``modelserve.tasks.*``): they
are stored in queued messages and beat rows, and CELERY_TASK_ROUTES sends
``modelserve.tasks.generate_*`` to the "generate" queue. Each task takes ids, re-checks
state in the database and calls services, so running it twice is harmless: the ledger's
unique key (prompt, endpoint, sample index) and its response link make a redelivered
task a no-op. ``acks_late`` (with the broker's visibility timeout above the hard time
limit) means a worker that dies mid-generation leaves the message to be redelivered.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from annotate.services.judges import GENERATE_JUDGMENTS
from modelserve.generation.backends.ct2 import ct2_backend_for
from modelserve.generation.batch import (
    RetryLater,
    generation_requests_over_time,
    generation_run,
    generation_run_batch,
)
from modelserve.generation.judging import judge_campaign_run
from modelserve.generation.pool import GENERATE_POOL_TOPUP, pool_topup, pool_topup_all
from modelserve.generation.recovery import generation_requeue_stalled
from modelserve.generation.registry import GENERATE_PREPARE_ENGINE
from modelserve.generation.requests import GENERATE_BATCH, GENERATE_RESPONSE

logger = logging.getLogger(__name__)

MAX_RETRIES = int(getattr(settings, "CHORUS_GENERATION_MAX_RETRIES", 3))
SOFT_TIME_LIMIT = int(getattr(settings, "CHORUS_GENERATION_SOFT_LIMIT_S", 300))
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 30
# A judging job asks many questions in turn (batch_size at a time).
JUDGE_SOFT_LIMIT = int(getattr(settings, "CHORUS_JUDGE_SOFT_LIMIT_S", 3600))


def _backoff(retries: int) -> float:
    """Exponential backoff with jitter: ~1, 2, 4 ... s, capped at a minute."""
    return min(60.0, 2.0**retries) * (0.5 + random.random())


@shared_task(
    bind=True,
    name=GENERATE_RESPONSE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def generate_response(self: Any, request_id: int) -> str:
    """Generate one response for one GenerationRequest (retries on backend errors)."""
    final = self.request.retries >= self.max_retries
    try:
        req = generation_run(
            request_id=request_id, final_attempt=final, max_attempts=self.max_retries + 3
        )
    except RetryLater as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except SoftTimeLimitExceeded as exc:
        generation_requests_over_time(
            request_ids=[request_id], final=final, limit_s=SOFT_TIME_LIMIT
        )
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return "gone" if req is None else str(req.status)


@shared_task(
    bind=True,
    name=GENERATE_BATCH,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def generate_batch(self: Any, request_ids: list[int]) -> dict[str, str]:
    """All candidates of one turn on one set of weights, in one batched backend call.

    A retry carries only the candidates that failed retryably; the others keep their
    responses. Returns {request id: status}.
    """
    final = self.request.retries >= self.max_retries
    try:
        out = generation_run_batch(
            request_ids=request_ids, final_attempt=final, max_attempts=self.max_retries + 3
        )
    except SoftTimeLimitExceeded as exc:
        generation_requests_over_time(request_ids=request_ids, final=final, limit_s=SOFT_TIME_LIMIT)
        if final:
            return {str(pk): "failed" for pk in request_ids}
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if out.retry_ids:
        raise self.retry(
            args=[out.retry_ids], exc=out.retry_error, countdown=_backoff(self.request.retries)
        )
    return {str(pk): "gone" if r is None else str(r.status) for pk, r in out.requests.items()}


@shared_task(
    name=GENERATE_JUDGMENTS,
    acks_late=True,
    soft_time_limit=JUDGE_SOFT_LIMIT,
    time_limit=JUDGE_SOFT_LIMIT + 30,
)
def generate_judgments(
    campaign_id: int,
    judge_ids: list[int] | None = None,
    item_ids: list[int] | None = None,
    limit: int | None = None,
) -> dict[str, dict[str, int]]:
    """Run a campaign's AI judges (issue 16). A job cut short by the time limit leaves
    pending judgments that the next job resumes; what was stored stays."""
    try:
        report = judge_campaign_run(
            campaign_id=campaign_id, judge_ids=judge_ids, item_ids=item_ids, limit=limit
        )
    except SoftTimeLimitExceeded:
        logger.warning("judging campaign %s hit the soft time limit; rerun to resume", campaign_id)
        return {}
    return report.judges


@shared_task(name=GENERATE_PREPARE_ENGINE, acks_late=True, time_limit=600)
def generate_prepare_engine(model: str) -> str:
    """Convert (once, file-locked) and load a local model for CTranslate2; "" if unused."""
    backend = ct2_backend_for(model)
    return "" if backend is None else str(backend.m.path)


@shared_task(name=GENERATE_POOL_TOPUP, acks_late=True, time_limit=120)
def generate_pool_topup(campaign_id: int) -> int:
    """Top up one campaign's pool of pre-generated items."""
    return pool_topup(campaign_id=campaign_id)


@shared_task(name="modelserve.tasks.generate_pool_topup_all", acks_late=True, time_limit=300)
def generate_pool_topup_all() -> int:
    """Beat entry: top up every open campaign that has an enabled model pool."""
    return pool_topup_all()


# The name is older than this package (the beat entry "ops-requeue-stalled" and queued
# messages carry it); the task re-sends generation work, so it lives with generation.
@shared_task(name="annotate.tasks.ops_requeue_stalled")
def ops_requeue_stalled() -> dict[str, int]:
    """Beat entry (issue 8): re-send work whose broker message was lost in an outage."""
    return {"generation": generation_requeue_stalled()}
