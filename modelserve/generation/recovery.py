"""Re-sending work whose broker message was lost (issue 8: Redis down, then back).

A generation request is created in PostgreSQL and its Celery message sent after commit.
If Redis was down at that moment the send failed (annotate.tasks_util.enqueue logged
it) and the request sits "pending" with no task id, counted as in flight by the pool
forever. ``generation_requeue_stalled`` sends such requests again; the beat entry
``ops-requeue-stalled`` (settings) runs it every CHORUS_REQUEUE_EVERY_S seconds, so
queued generation resumes on its own once Redis is back. Re-sending is safe: the
generation task is idempotent (modelserve.generation.batch.generation_run_batch).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotate.tasks_util import enqueue
from modelserve.generation.models import GenerationRequest, GenerationStatus
from modelserve.generation.requests import GENERATE_BATCH, generation_groups


def generation_requeue_stalled(*, older_than_s: int = 30, limit: int = 500) -> int:
    """Send again pending requests that never got a task id. Returns how many were sent.

    Requests of one turn go back together (one ``generate_batch`` per set of weights).
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(
        GenerationRequest.objects.filter(
            status=GenerationStatus.PENDING, celery_task_id="", created_at__lte=cutoff
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    sent = 0
    for group in generation_groups(request_ids=ids):
        task_id = enqueue(GENERATE_BATCH, group)
        if task_id is None:
            break  # broker still down: try again at the next sweep
        GenerationRequest.objects.filter(pk__in=group, celery_task_id="").update(
            celery_task_id=task_id
        )
        sent += len(group)
    return sent
