"""Enqueueing Celery tasks from request paths without depending on the broker (issue 8).

Labels, runs and generation requests live in PostgreSQL; the broker only carries "go"
signals. When Redis is down, the write that wanted to enqueue has already committed
(enqueues run in ``transaction.on_commit``), so failing the request would lie to the
person who just saved something. :func:`enqueue` therefore logs and swallows broker
errors and returns None; whatever was not sent is picked up again by the periodic
sweeps (``modelserve.recovery.generation_requeue_stalled`` for generation, the refit
scheduler for training runs, the next label for analytics snapshots).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any, **kwargs: Any) -> str | None:
    """``task.apply_async(args, kwargs)``; the task id, or None if the broker failed."""
    options = kwargs.pop("_options", None) or {}
    try:
        result = task.apply_async(args=args, kwargs=kwargs, **options)
    except Exception:  # kombu OperationalError, redis errors, Celery's backend RuntimeError
        logger.exception("could not enqueue %s%r: broker unavailable?", task.name, args)
        return None
    return str(result.id or "")
