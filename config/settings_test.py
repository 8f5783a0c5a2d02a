"""Test settings: the base module pointed at real PostgreSQL and Redis.

Tests run against the services a deployment uses. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` override the local defaults (helpers running suites side by side
give each run its own database name and Redis database number).
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

from .settings import *  # noqa: F403

# Fast hashing: tests create many users; production keeps the default PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
CHORUS_MODEL_DIR = VAR_DIR / "test-models"  # noqa: F405
CHORUS_EXPORT_DIR = VAR_DIR / "test-exports"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# In-process tests get a private memory cache: lockout counters and debounce flags of
# one test must not leak into the next through a shared Redis. Processes that tests
# start (tests/ops, tests/e2e) use their own settings and the shared cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
