"""The Celery application shared by web processes, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The tasks.py of each package that has one. The modelserve packages' task names keep
# the "modelserve.tasks." prefix that CELERY_TASK_ROUTES and beat rows use. (The apps'
# AppConfig.ready() imports these modules too, so every process knows every task by name;
# it also connects the signal handlers, e.g. the model warm-up at worker_process_init,
# and runs in the worker before the pool forks.)
app.autodiscover_tasks(["annotate", "modelserve.generation", "modelserve.learning"])
