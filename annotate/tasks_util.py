"""Enqueueing Celery tasks from request paths without depending on the broker (issue 8).

Labels, runs and generation requests live in PostgreSQL; the broker only carries "go"
signals. When Redis is down, the write that wanted to enqueue has already committed
(enqueues run in ``transaction.on_commit``), so failing the request would lie to the
person who just saved something. :func:`enqueue` therefore logs and swallows broker
errors and returns None; whatever was not sent is picked up again by the periodic
sweeps (``modelserve.generation.recovery.generation_requeue_stalled`` for generation,
the refit scheduler for training runs, the next label for analytics snapshots).

Services name the task (``"annotate.tasks.export_run"``) instead of importing it: a
tasks module imports the services it calls, so a service importing its task would make
an import cycle. Every app imports its task modules in ``AppConfig.ready()``, so the
name resolves to the registered task in every process (its options, and eager mode in
tests, apply); a name no process registered is still sent to the broker as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any, **kwargs: Any) -> str | None:
    """``task.apply_async(args, kwargs)``; the task id, or None if the broker failed.

    ``task`` is a task name (or a task object); ``_options`` are apply_async's options.
    """
    options = kwargs.pop("_options", None) or {}
    name = task if isinstance(task, str) else task.name
    try:
        if isinstance(task, str):
            registered = current_app.tasks.get(task)
            if registered is None:
                result = current_app.send_task(task, args=args, kwargs=kwargs, **options)
            else:
                result = registered.apply_async(args=args, kwargs=kwargs, **options)
        else:
            result = task.apply_async(args=args, kwargs=kwargs, **options)
    except Exception:  # kombu OperationalError, redis errors, Celery's backend RuntimeError
        logger.exception("could not enqueue %s%r: broker unavailable?", name, args)
        return None
    return str(result.id or "")
