"""The baseline of the load benchmark: the smallest Django that does the same database
work as Chorus's task loop (bench/baseline_views.py). No sessions, auth, CSRF, templates
or extra middleware; the same database and connection settings."""

import os

import dj_database_url

SECRET_KEY = "bench-baseline-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "annotate",
    "modelserve",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.baseline_views"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
CACHES = {  # Chorus's apps are installed (their models), and they read both aliases
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CHORUS_MODEL_DIR = "/tmp/chorus-baseline-models"
