"""Run the K candidates of one turn (or pool item) as ONE batched backend call.

Two cores cannot run four generations side by side profitably: one batched forward pass
per token over all rows is 2-3x the throughput (DESIGN.md, measured). So
``generation_enqueue`` sends one ``generate_batch`` task per set of weights, and this
module claims every request of that task, calls ``backend.generate_batch`` once per
backend identity, and records each row on its own: a failed candidate fails (or is
retried) alone, the others keep their responses. Per row: idempotent, attempts bounded,
seed bumped on a retry; ``generation_run`` is a batch of one id. Responses are stored by
``modelserve.generation.finish``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.markdown import has_visible_text
from modelserve.generation.backends import BackendError, BatchRow, SamplingParams, backend_get
from modelserve.generation.finish import generation_finish
from modelserve.generation.models import GenerationPurpose, GenerationRequest, GenerationStatus

logger = logging.getLogger(__name__)

# How often the worker rewrites each candidate's progressive text (seconds). The first
# piece is written at once so the page shows a token as soon as there is one.
PARTIAL_WRITE_INTERVAL = 0.1


@dataclass
class BatchOutcome:
    """What happened to each id: its request (None if gone), and which ones to retry."""

    requests: dict[int, GenerationRequest | None] = field(default_factory=dict)
    retry_ids: list[int] = field(default_factory=list)
    retry_error: BackendError | None = None


def _claim(request_ids: Sequence[int], max_attempts: int, out: BatchOutcome) -> list[Any]:
    """Lock and mark running the requests that still need a response."""
    claimed = []
    with transaction.atomic():
        rows = {
            r.pk: r
            for r in GenerationRequest.objects.select_for_update(of=("self",))
            .select_related("endpoint", "prompt")
            .filter(pk__in=list(request_ids))
            .order_by("id")
        }
        for pk in request_ids:
            req = rows.get(pk)
            out.requests[pk] = req
            if req is None:
                logger.warning("generation request %s is gone; nothing to do", pk)
                continue
            if req.status == GenerationStatus.DONE or req.response_id is not None:
                continue  # redelivered after success: the response already exists
            if req.attempts >= max_attempts:
                # Redelivered again and again: the worker keeps dying (hard time limit,
                # out of memory). Stop here instead of looping forever.
                req.status = GenerationStatus.FAILED
                req.error = f"gave up after {req.attempts} attempts (worker lost or killed?)"
                req.finished_at = timezone.now()
                req.save(update_fields=["status", "error", "finished_at"])
                continue
            req.status = GenerationStatus.RUNNING
            req.attempts += 1
            req.started_at = timezone.now()
            req.partial_text = ""
            req.save(update_fields=["status", "attempts", "started_at", "partial_text"])
            claimed.append(req)
    return claimed


def _writer(req: GenerationRequest) -> tuple[Any, Any]:
    """(on_text, on_end): store the candidate's text so far at most every 100 ms, and
    all of it the moment that candidate ends (others in the batch may still run)."""
    parts: list[str] = []
    last = [0.0]

    def on_end(text: str) -> None:
        GenerationRequest.objects.filter(pk=req.pk, response__isnull=True).update(partial_text=text)

    def on_text(piece: str) -> None:
        parts.append(piece)
        now = time.monotonic()
        if now - last[0] >= PARTIAL_WRITE_INTERVAL:
            last[0] = now
            GenerationRequest.objects.filter(pk=req.pk, response__isnull=True).update(
                partial_text="".join(parts)
            )

    return on_text, on_end


def _params(req: GenerationRequest) -> SamplingParams:
    raw = dict(req.params or {})
    if raw.get("seed") is not None and req.attempts > 1:
        # A retry of an empty or broken sample should not replay the same draw.
        raw["seed"] = int(raw["seed"]) + req.attempts - 1
    return SamplingParams.from_mapping(raw)


def _fail(
    req: GenerationRequest, exc: BackendError, final_attempt: bool, out: BatchOutcome
) -> None:
    will_retry = exc.retryable and not final_attempt
    GenerationRequest.objects.filter(pk=req.pk, response__isnull=True).update(
        status=GenerationStatus.PENDING if will_retry else GenerationStatus.FAILED,
        error=f"attempt {req.attempts}: {exc}"[:4000],
        finished_at=None if will_retry else timezone.now(),
    )
    if will_retry:
        out.retry_ids.append(req.pk)
        out.retry_error = exc
    else:
        req.refresh_from_db()
        out.requests[req.pk] = req


def _backend_key(req: GenerationRequest) -> tuple[str, str, str, str]:
    e = req.endpoint
    return (e.backend, e.model, e.base_url, e.api_key_env)


def generation_run_batch(
    *, request_ids: Sequence[int], final_attempt: bool = True, max_attempts: int = 10
) -> BatchOutcome:
    """Generate the responses of several requests, batched per backend. Safe to rerun.

    Failures are recorded per request; retryable ones (when this is not the final
    attempt) are left pending and listed in ``retry_ids`` for the task to retry.
    """
    out = BatchOutcome()
    claimed = _claim(request_ids, max_attempts, out)
    groups: dict[tuple[str, str, str, str], list[tuple[GenerationRequest, SamplingParams]]] = {}
    for req in claimed:
        try:
            params = _params(req)
        except BackendError as exc:
            _fail(req, exc, final_attempt, out)
            continue
        groups.setdefault(_backend_key(req), []).append((req, params))

    for (backend_name, model, base_url, key_env), members in groups.items():
        try:
            backend = backend_get(
                backend=backend_name, model=model, base_url=base_url, api_key_env=key_env
            )
            rows = [BatchRow(r.messages or r.prompt.messages, p, *_writer(r)) for r, p in members]
            results: list[Any] = backend.generate_batch(rows)
        except BackendError as exc:  # the whole call failed (a bad folder, a dead server)
            results = [exc] * len(members)
        for (req, params), result in zip(members, results, strict=True):
            if not isinstance(result, BackendError) and _blank(req, result.text):
                result = BackendError(
                    f"the model returned an empty reply ({result.text[:40]!r} shows no text)"
                )
            if isinstance(result, BackendError):
                _fail(req, result, final_attempt, out)
                continue
            out.requests[req.pk] = generation_finish(
                req=req, result_text=result.text, result=result, params=params
            )
    return out


def _blank(req: GenerationRequest, text: str) -> bool:
    """A reply nobody could read: retried with a new draw, as any failure. A candidate
    people rate is blank when it shows no text once rendered as the page renders it ("-"
    or "#" alone is an empty list item or heading); a judge's answer is parsed, not
    shown ("5." is a rating there), so only an empty string is blank."""
    if req.purpose == GenerationPurpose.JUDGE:
        return not text.strip()
    return not has_visible_text(text)


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
    ``generation_run_batch``.
    """
    out = generation_run_batch(
        request_ids=[request_id], final_attempt=final_attempt, max_attempts=max_attempts
    )
    if out.retry_ids and out.retry_error is not None:
        raise RetryLater(out.retry_error)
    return out.requests.get(request_id)


def generation_requests_over_time(*, request_ids: Sequence[int], final: bool, limit_s: int) -> int:
    """Requests still without a response when the task's soft time limit hit: failed on
    the last attempt, else pending again for the retry. Returns how many were changed."""
    return GenerationRequest.objects.filter(pk__in=list(request_ids), response__isnull=True).update(
        status=GenerationStatus.FAILED if final else GenerationStatus.PENDING,
        error=f"over the soft time limit of {limit_s} s",
        finished_at=timezone.now() if final else None,
    )
