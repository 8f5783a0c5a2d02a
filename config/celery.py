"""The Celery application shared by web processes, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The learning loop's tasks live in modelserve/training_tasks.py (named modelserve.tasks.*).
app.autodiscover_tasks(related_name="training_tasks")
