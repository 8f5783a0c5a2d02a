"""Signal handlers of model serving: pool top-ups on a lease, model warm-up at worker start.

Pool top-up: hooked to Assignment creation (connected in ModelserveConfig.ready) rather
than called from the core assignment service, so the core flow stays free of model
concerns. The cache debounce keeps the hot path at one cache write per campaign per few
seconds; only then is the pool checked and the topper enqueued (after commit, on the
generate queue).

Warm-up: each Celery pool process that consumes the "generate" queue loads the default
model at start (connected to ``worker_process_init`` in config/celery.py), so the first
live reply does not wait for a load or, worse, a conversion.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)
DEBOUNCE_S = 5


def assignment_created(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    campaign_id = instance.campaign_id
    try:
        if not cache.add(f"chorus:pool-topup:{campaign_id}", 1, timeout=DEBOUNCE_S):
            return
        from modelserve.models import ModelEndpoint

        if not ModelEndpoint.objects.filter(campaigns=campaign_id, enabled=True).exists():
            return
        transaction.on_commit(lambda: _enqueue(campaign_id))
    except Exception:  # a cache or database hiccup must never fail an annotator's lease
        logger.exception("could not request a pool top-up for campaign %s", campaign_id)


def _enqueue(campaign_id: int) -> None:
    from modelserve.tasks import generate_pool_topup

    try:
        generate_pool_topup.delay(campaign_id)
    except Exception:  # broker down: the beat-scheduled top-up catches up later
        logger.exception("could not enqueue a pool top-up for campaign %s", campaign_id)


def campaign_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Keep the campaign's beat entry in step with ``config["refit"]``, whoever saved it
    (the REST configure endpoint, the admin, a script): a schedule set over the API was
    silently ignored before, since only the admin's refit page synced it."""
    if kwargs.get("raw"):
        return
    from django_celery_beat.models import PeriodicTask

    from modelserve.scheduling import refit_schedule_sync, schedule_name

    has_refit = bool((instance.config or {}).get("refit"))
    if has_refit or PeriodicTask.objects.filter(name=schedule_name(instance)).exists():
        transaction.on_commit(lambda: refit_schedule_sync(campaign=instance))


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
    from celery import current_app

    queues = current_app.amqp.queues
    selected = queues.consume_from
    return set(selected if selected is not None else queues)


def _warm_engine() -> str:
    """Load the default model with the engine that will serve it (CTranslate2 by default)."""
    from modelserve.backends.ct2 import ct2_backend_for
    from modelserve.backends.local import load_cached

    ct2 = ct2_backend_for("default")  # converts once (file-locked); None: transformers
    if ct2 is not None:
        return str(ct2.m.path)
    return load_cached("default")[2]


def warm_default_model() -> bool:
    """Load the default model into this process's cache if it is prepared or will be used.

    Returns whether it loaded. Never raises: a worker must start even when the model
    files are broken (the generation then fails with the reason, per request).
    """
    from modelserve.model_files import default_model_ready

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
    from modelserve.model_files import DEFAULT_MODEL_NAME
    from modelserve.models import Backend, ModelEndpoint

    return ModelEndpoint.objects.filter(
        enabled=True, backend=Backend.LOCAL, model__in=["", "default", DEFAULT_MODEL_NAME]
    ).exists()
