"""Process plumbing for the fault tests: our own Redis, servers and workers.

Nothing here touches the shared services' lifecycle: Redis is a private redis-server
on a free port, PostgreSQL restarts happen on a private cluster (test_postgres_restart),
and workers consume this run's own Redis database number.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.config.helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def db_url_for_children() -> str:
    """The URL of the database this test run uses (pytest-django's test_<name>)."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.ops.settings_server",
        PYTHONPATH=str(ROOT),
        CHORUS_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # The fault tests generate with the fake backend: no SmolLM2 load per worker start.
        CHORUS_WARM_MODELS="0",
    )
    env.update(extra)
    return env


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        assert wait_until(lambda: _ping(client), timeout=10), "private redis did not start"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 4) -> Iterator[str]:
    """A real gunicorn on a free port; yields its base URL."""
    port = free_port()
    log = open(Path(env.get("OPS_LOG_DIR", "/tmp")) / f"ops-gunicorn-{port}.log", "wb")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ok = wait_until(lambda: _up(url), timeout=40, interval=0.3)
        assert ok, f"gunicorn did not start: {Path(log.name).read_text()[-3000:]}"
        yield url
    finally:
        _stop_group(proc)
        log.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/accounts/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def celery_worker(env: dict[str, str], queues: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    out = open(log, "ab")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "-c",
            "1",
            "--pool",
            "prefork",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"ops-{queues}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        _stop_group(proc)
        out.close()


def _stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes at once, as an OOM killer or a crash would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
