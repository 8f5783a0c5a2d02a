"""The Celery application shared by web processes, workers and beat."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The learning loop's tasks live in modelserve/training_tasks.py (named modelserve.tasks.*).
app.autodiscover_tasks(related_name="training_tasks")
# Outgoing webhooks (annotate/webhook_tasks.py).
app.autodiscover_tasks(related_name="webhook_tasks")


@worker_process_init.connect(dispatch_uid="chorus_warm_models")
def _warm_models(**kwargs: Any) -> None:
    # Every prefork pool process on the "generate" queue loads the default model at start
    # (CHORUS_WARM_MODELS=0 turns it off); see modelserve.signals.worker_process_warm.
    from modelserve.signals import worker_process_warm

    worker_process_warm(**kwargs)
