"""Test settings: the base module pointed at real PostgreSQL and Redis.

Tests run against the services a deployment uses. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` override the local defaults (helpers running suites side by side
give each run its own database name and Redis database number).
"""

import os
import re

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

# ``make test`` splits the suite over the cores with pytest-xdist. pytest-django gives each
# worker its own test database (test_<name>_gw<N>); the broker's Redis database and the
# model/export folders are split here, in os.environ too, so that a Celery worker one test
# starts (tests/ops, tests/annotate/test_tasks.py) never takes another worker's tasks.
# Worker gw0 keeps the configured values; gw<N> counts down two Redis databases per worker
# from the configured one (the e2e run's own broker database stays on one worker: its
# tests share an xdist group).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_worker_n = int(XDIST_WORKER[2:]) if re.fullmatch(r"gw\d+", XDIST_WORKER) else 0
# Processes a test starts with these settings inherit the split URLs and the worker's
# name; CHORUS_TEST_SPLIT_FOR tells them the URLs are split already.
if _worker_n and os.environ.get("CHORUS_TEST_SPLIT_FOR") != XDIST_WORKER:
    for _var in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        _url = os.environ.get(_var, "")
        _m = re.fullmatch(r"(redis://[^/]+/)(\d+)", _url)
        if _m:
            os.environ[_var] = f"{_m[1]}{(int(_m[2]) - 2 * _worker_n) % 16}"
    os.environ["CHORUS_TEST_SPLIT_FOR"] = XDIST_WORKER

from .settings import *  # noqa: E402, F403

# Fast hashing: tests create many users; production keeps the default PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
_suffix = f"-{XDIST_WORKER}" if _worker_n else ""
CHORUS_MODEL_DIR = VAR_DIR / f"test-models{_suffix}"  # noqa: F405
CHORUS_EXPORT_DIR = VAR_DIR / f"test-exports{_suffix}"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# In-process tests get a private memory cache: lockout counters and debounce flags of
# one test must not leak into the next through a shared Redis. Processes that tests
# start (tests/ops, tests/e2e) use their own settings and the shared cache.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"},
}
