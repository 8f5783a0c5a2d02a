"""Celery tasks of the modelserve app.

Tasks named ``generate_*`` go to the "generate" queue (CELERY_TASK_ROUTES in settings).
Each takes ids, re-checks state in the database and calls one service, so running it
twice is harmless: the generation ledger's unique key (prompt, endpoint, sample index)
and its response link make a redelivered task a no-op. ``acks_late`` (with the broker's
visibility timeout above the hard time limit) means a worker that dies mid-generation
leaves the message to be redelivered, not lost.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_RETRIES = int(getattr(settings, "CHORUS_GENERATION_MAX_RETRIES", 3))
SOFT_TIME_LIMIT = int(getattr(settings, "CHORUS_GENERATION_SOFT_LIMIT_S", 300))
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 30


def _backoff(retries: int) -> float:
    """Exponential backoff with jitter: ~1, 2, 4 ... s, capped at a minute."""
    return min(60.0, 2.0**retries) * (0.5 + random.random())


def _mark_over_time(request_ids: list[int], *, final: bool) -> None:
    """Requests still without a response when the soft time limit hit: failed on the
    last attempt, else pending again for the retry."""
    from modelserve.models import GenerationRequest, GenerationStatus

    GenerationRequest.objects.filter(pk__in=request_ids, response__isnull=True).update(
        status=GenerationStatus.FAILED if final else GenerationStatus.PENDING,
        error=f"over the soft time limit of {SOFT_TIME_LIMIT} s",
        finished_at=timezone.now() if final else None,
    )


@shared_task(
    bind=True,
    name="modelserve.tasks.generate_response",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def generate_response(self, request_id: int) -> str:  # type: ignore[no-untyped-def]
    """Generate one response for one GenerationRequest (retries on backend errors)."""
    from modelserve.generation import RetryLater, generation_run

    final = self.request.retries >= self.max_retries
    try:
        req = generation_run(
            request_id=request_id, final_attempt=final, max_attempts=self.max_retries + 3
        )
    except RetryLater as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except SoftTimeLimitExceeded as exc:
        _mark_over_time([request_id], final=final)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return "gone" if req is None else str(req.status)


@shared_task(
    bind=True,
    name="modelserve.tasks.generate_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def generate_batch(self, request_ids: list[int]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """All candidates of one turn on one set of weights, in one batched backend call.

    A retry carries only the candidates that failed retryably; the others keep their
    responses. Returns {request id: status}.
    """
    from modelserve.generation_batch import generation_run_batch

    final = self.request.retries >= self.max_retries
    try:
        out = generation_run_batch(
            request_ids=request_ids, final_attempt=final, max_attempts=self.max_retries + 3
        )
    except SoftTimeLimitExceeded as exc:
        _mark_over_time(request_ids, final=final)
        if final:
            return {str(pk): "failed" for pk in request_ids}
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if out.retry_ids:
        raise self.retry(
            args=[out.retry_ids], exc=out.retry_error, countdown=_backoff(self.request.retries)
        )
    return {str(pk): "gone" if r is None else str(r.status) for pk, r in out.requests.items()}


@shared_task(name="modelserve.tasks.generate_prepare_engine", acks_late=True, time_limit=600)
def generate_prepare_engine(model: str) -> str:
    """Convert (once, file-locked) and load a local model for CTranslate2; "" if unused."""
    from modelserve.backends.ct2 import ct2_backend_for

    backend = ct2_backend_for(model)
    return "" if backend is None else str(backend.m.path)


@shared_task(name="modelserve.tasks.generate_pool_topup", acks_late=True, time_limit=120)
def generate_pool_topup(campaign_id: int) -> int:
    """Top up one campaign's pool of pre-generated items."""
    from modelserve.pool import pool_topup

    return pool_topup(campaign_id=campaign_id)


@shared_task(name="modelserve.tasks.generate_pool_topup_all", acks_late=True, time_limit=300)
def generate_pool_topup_all() -> int:
    """Beat entry: top up every open campaign that has an enabled model pool."""
    from annotate.models import Campaign, CampaignStatus
    from modelserve.pool import pool_topup

    ids = (
        Campaign.objects.filter(status=CampaignStatus.OPEN)
        .annotate(n=Count("model_pool", filter=Q(model_pool__enabled=True)))
        .filter(n__gt=0)
        .values_list("id", flat=True)
    )
    made = 0
    for campaign_id in ids:
        try:
            made += pool_topup(campaign_id=campaign_id)
        except Exception:  # one misconfigured campaign must not starve the others
            logger.exception("pool top-up failed for campaign %s", campaign_id)
    return made
