"""Model warm-up at worker start.

Each Celery pool process that consumes the "generate" queue loads the default model at
start (``worker_process_warm`` is connected to ``worker_process_init`` by
modelserve.generation.listeners), so the first live reply does not wait for a load or,
worse, a conversion.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection

from modelserve.generation.backends.ct2 import ct2_backend_for
from modelserve.generation.backends.local import load_cached
from modelserve.generation.model_files import DEFAULT_MODEL_NAME, default_model_ready
from modelserve.generation.models import Backend, ModelEndpoint

logger = logging.getLogger(__name__)
GENERATE_QUEUE = "generate"


def worker_process_warm(**kwargs: Any) -> threading.Thread | None:
    """``worker_process_init`` handler: warm the default model in this pool process.

    Runs in a thread: Celery kills a pool process whose init takes longer than
    ``worker_proc_alive_timeout`` (4 s), and a load takes a few seconds on 2 cores. A
    generation arriving meanwhile waits on the local backend's cache lock for this very
    load instead of starting a second one; the conversion file lock keeps several pool
    processes from converting at once.
    """
    if not settings.CHORUS_WARM_MODELS:
        return None
    if GENERATE_QUEUE not in _consumed_queues():
        return None
    thread = threading.Thread(target=_warm_in_thread, name="chorus-warm-model", daemon=True)
    thread.start()
    return thread


def _warm_in_thread() -> None:
    try:
        warm_default_model()
    finally:
        connection.close()  # this thread's own connection, if the endpoint query opened one


def _consumed_queues() -> set[str]:
    """The queues this worker consumes: ``-Q`` selects them in the main process before the
    pool forks, so a pool process sees the same selection."""
    queues = current_app.amqp.queues
    selected = queues.consume_from
    return set(selected if selected is not None else queues)


def _warm_engine() -> str:
    """Load the default model with the engine that will serve it (CTranslate2 by default)."""
    ct2 = ct2_backend_for("default")  # converts once (file-locked); None: transformers
    if ct2 is not None:
        return str(ct2.m.path)
    return load_cached("default")[2]


def warm_default_model() -> bool:
    """Load the default model into this process's cache if it is prepared or will be used.

    Returns whether it loaded. Never raises: a worker must start even when the model
    files are broken (the generation then fails with the reason, per request).
    """
    started = time.monotonic()
    try:
        if not default_model_ready() and not _default_endpoint_enabled():
            return False
        folder = _warm_engine()
    except Exception:
        logger.exception("could not warm the default model in pool process %s", os.getpid())
        return False
    logger.info(
        "default model ready in pool process %s (%.1f s, %s)",
        os.getpid(),
        time.monotonic() - started,
        folder,
    )
    return True


def _default_endpoint_enabled() -> bool:
    return ModelEndpoint.objects.filter(
        enabled=True, backend=Backend.LOCAL, model__in=["", "default", DEFAULT_MODEL_NAME]
    ).exists()
