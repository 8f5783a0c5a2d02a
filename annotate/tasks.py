"""Celery tasks of the annotate app.

Every task takes ids, re-checks state and calls one service (DESIGN.md, style 4); it must
be safe to run twice because the broker redelivers unacknowledged tasks (acks_late).
Queues are chosen by ``CELERY_TASK_ROUTES`` in config/settings.py; tasks here go to
"default" unless routed. Add new tasks below, each with its own imports kept local when
they are heavy, so the worker starts fast.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task(name="annotate.tasks.ping")
def ping() -> dict[str, object]:
    """Prove a worker is alive and can reach the database it was configured with.

    Used by health checks and the infrastructure tests; touches no rows.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone() or (0,)
    return {"pong": True, "database": connection.vendor, "select_1": one}


@shared_task(name="annotate.tasks.analytics_snapshot_refresh")
def analytics_snapshot_refresh(campaign_id: int) -> dict[str, object]:
    """Recompute a campaign's analytics snapshot (debounced by the request hook)."""
    from annotate.services.analytics import analytics_snapshot_compute

    snapshot = analytics_snapshot_compute(campaign_id=campaign_id)
    if snapshot is None:
        return {"campaign_id": campaign_id, "snapshot": None}
    return {
        "campaign_id": campaign_id,
        "snapshot": snapshot.pk,
        "n_labels": snapshot.n_labels,
        "duration_ms": snapshot.duration_ms,
    }


@shared_task(name="annotate.tasks.export_run")
def export_run(export_id: int) -> dict[str, object]:
    """Write a large export to CHORUS_EXPORT_DIR (issue 6). Safe to run twice: a finished
    export is left as it is."""
    from annotate.services.exports import export_run as run

    export = run(export_id=export_id)
    if export is None:
        return {"export": export_id, "status": "missing"}
    return {"export": export.pk, "status": export.status, "rows": export.row_count}


@shared_task(name="annotate.tasks.ops_requeue_stalled")
def ops_requeue_stalled() -> dict[str, int]:
    """Beat entry (issue 8): re-send work whose broker message was lost in an outage."""
    from modelserve.recovery import generation_requeue_stalled

    return {"generation": generation_requeue_stalled()}
