"""Celery tasks of the annotate app.

Every task takes ids, re-checks state and calls one service (DESIGN.md, style 4); it must
be safe to run twice because the broker redelivers unacknowledged tasks (acks_late).
Queues are chosen by ``CELERY_TASK_ROUTES`` in config/settings.py; tasks here go to
"default" unless routed. Services enqueue them by name (annotate.tasks_util.enqueue).
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from annotate.services.analytics import ANALYTICS_SNAPSHOT_REFRESH, analytics_snapshot_compute
from annotate.services.exports import EXPORT_RUN
from annotate.services.exports import export_run as run
from annotate.services.leasing import assignments_expire_all


@shared_task(name="annotate.tasks.ping")
def ping() -> dict[str, object]:
    """Prove a worker is alive and can reach the database it was configured with.

    Used by health checks and the infrastructure tests; touches no rows.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone() or (0,)
    return {"pong": True, "database": connection.vendor, "select_1": one}


@shared_task(name="annotate.tasks.assignments_expire")
def assignments_expire() -> dict[str, int]:
    """Expire every lease past its time and free its slot (beat, issue 14). Safe to run
    twice: an expired lease is not active any more."""
    return {"expired": assignments_expire_all()}


@shared_task(name=ANALYTICS_SNAPSHOT_REFRESH)
def analytics_snapshot_refresh(campaign_id: int, full: bool = False) -> dict[str, object]:
    """Recompute a campaign's analytics snapshot (debounced by the request hook); ``full``
    recomputes every figure even where an incremental run would do."""
    snapshot = analytics_snapshot_compute(campaign_id=campaign_id, full=full)
    if snapshot is None:
        return {"campaign_id": campaign_id, "snapshot": None}
    return {
        "campaign_id": campaign_id,
        "snapshot": snapshot.pk,
        "n_labels": snapshot.n_labels,
        "duration_ms": snapshot.duration_ms,
    }


@shared_task(name=EXPORT_RUN)
def export_run(export_id: int) -> dict[str, object]:
    """Write a large export to CHORUS_EXPORT_DIR (issue 6). Safe to run twice: a finished
    export is left as it is."""
    export = run(export_id=export_id)
    if export is None:
        return {"export": export_id, "status": "missing"}
    return {"export": export.pk, "status": export.status, "rows": export.row_count}
