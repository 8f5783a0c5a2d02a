"""A Celery round trip through a real worker process and Redis.

The worker is a subprocess started like production starts it (``celery -A config
worker``), pointed at the test database, consuming a queue of its own so it can neither
steal nor be fed other tests' messages.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery.result import AsyncResult
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from annotate.tasks import ping
from config.celery import app
from tests.config.helpers import ROOT, env_without, tail

pytestmark = pytest.mark.slow


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, proc: subprocess.Popen[bytes], queue: str, log: Path) -> None:
        self.proc, self.queue, self.log = proc, queue, log

    def result(self, async_result: AsyncResult, timeout: float = 60) -> object:
        try:
            return async_result.get(timeout=timeout)
        except Exception as exc:
            raise AssertionError(f"{exc!r}; worker log:\n{tail(self.log)}") from exc

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown, as docker/systemd stop it
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"worker ignored SIGTERM; log:\n{tail(self.log)}") from None
        return self.proc.returncode


@pytest.fixture
def worker(transactional_db, tmp_path: Path) -> Iterator[Worker]:
    """A real worker on the test database (committed rows only: transactional_db)."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "tests run against Redis"
    queue = f"test-infra-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "worker.log"
    env = env_without(
        "CELERY_TASK_ALWAYS_EAGER",
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=_test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
        PYTHONUNBUFFERED="1",
    )
    argv = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--queues", queue, "--hostname", f"{queue}@%h",
        "--concurrency", "1", "--pool", "prefork",
        "--include", "tests.config.worker_tasks",
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    handle = Worker(proc, queue, log)
    try:
        yield handle
    finally:
        handle.stop()  # before pytest-django drops the test database it is connected to
        # kombu keeps a binding entry per declared queue: leave no per-run keys in Redis.
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete(*client.keys(f"*{queue}*"), queue)


def test_round_trip_through_real_worker_and_redis(worker: Worker) -> None:
    pong = worker.result(ping.apply_async(queue=worker.queue))
    assert pong == {"pong": True, "database": "postgresql", "select_1": 1}

    # The worker writes to the very database this test reads...
    name = f"infra-{uuid.uuid4().hex[:8]}"
    send = {"kwargs": {"name": name}, "queue": worker.queue}
    pk = worker.result(app.send_task("tests.config.worker_tasks.record_group", **send))
    assert Group.objects.get(name=name).pk == pk
    # ...and a redelivered task (acks_late) does not write twice.
    again = worker.result(app.send_task("tests.config.worker_tasks.record_group", **send))
    assert again == pk
    assert Group.objects.filter(name=name).count() == 1

    # SIGTERM is a warm shutdown: the worker finishes and exits cleanly.
    assert worker.stop() == 0, tail(worker.log)
    log = worker.log.read_text()
    assert "annotate.tasks.ping" in log and "succeeded" in log
