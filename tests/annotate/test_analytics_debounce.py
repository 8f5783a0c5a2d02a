"""The analytics debounce flag must be shared by every process of a deployment.

Regression: with the per-process memory cache (the old default without REDIS_URL) a web
process set the flag, the worker cleared only its own copy after recomputing, and the
web process kept skipping requests until the flag expired (~11 minutes of a stale
dashboard). The default cache is now shared in both run modes; these tests use separate
interpreters, as gunicorn and Celery do.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.config.helpers import ROOT, env_without

SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL")

_SNIPPET = """
import json, sys, django
django.setup()
from django.conf import settings
from django.core.cache import cache
op, key = sys.argv[1], sys.argv[2]
result = {"backend": settings.CACHES["default"]["BACKEND"]}
if op == "add":
    result["added"] = cache.add(key, 1, timeout=600)
elif op == "delete":
    cache.delete(key)
print(json.dumps(result))
"""


def _run(env: dict[str, str], op: str, key: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _SNIPPET, op, key],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(**extra: str) -> dict[str, str]:
    env = env_without(*SERVICE_VARS)
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **extra)
    return env


def test_embedded_mode_flag_is_seen_and_cleared_across_processes(tmp_path) -> None:
    env = _env(CHORUS_VAR_DIR=str(tmp_path))
    key = "chorus:analytics:pending:test"
    first = _run(env, "add", key)
    assert first["backend"].endswith("FileBasedCache")
    assert first["added"] is True
    # Another process (a second gunicorn worker) sees the flag: no second enqueue.
    assert _run(env, "add", key)["added"] is False
    # The worker clears it after recomputing; the web process can schedule again.
    _run(env, "delete", key)
    assert _run(env, "add", key)["added"] is True


def test_redis_broker_without_redis_url_shares_the_brokers_redis(tmp_path) -> None:
    env = _env(CHORUS_VAR_DIR=str(tmp_path), CELERY_BROKER_URL="redis://127.0.0.1:6379/9")
    key = f"chorus:analytics:pending:test-{tmp_path.name}"
    try:
        first = _run(env, "add", key)
        assert first["backend"].endswith("RedisCache")
        assert first["added"] is True
        assert _run(env, "add", key)["added"] is False
    finally:
        _run(env, "delete", key)
