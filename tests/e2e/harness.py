"""Real processes for the acceptance run: Chorus as ``make run`` starts it, and its users.

``StudyServer`` runs ``manage.py runall`` (the supervisor behind ``make run``: migrate,
collectstatic, model preparation, then gunicorn + a Celery worker + Celery beat as
separate processes) in one of the two modes a deployment has:

- ``postgres``: a fresh PostgreSQL database and its own Redis database number, as
  docker-compose or a production box runs it;
- ``embedded``: no DATABASE_URL and no CELERY_BROKER_URL: SQLite and kombu's filesystem
  broker under a private CHORUS_VAR_DIR, which is what a newcomer's ``make run`` gets.

Nothing in-process touches the study's database through Django: the test reads it
with plain SQL (``Database``), runs management commands as subprocesses, and talks
HTTP to gunicorn. The packaged SmolLM2 is converted once per checkout into
``var/test-models`` (shared with the rest of the suite) and linked into each run's
model folder (refit folders stay private).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.config.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
# The suite's own converted copy (config.settings_test's CHORUS_MODEL_DIR).
SHARED_MODELS = ROOT / "var" / "test-models"
DEFAULT_MODEL_FOLDER = "smollm2-135m-instruct"
_STRIP = ("PYTEST", "DJANGO_", "CHORUS_", "CELERY_")
_SERVICE_VARS = ("DATABASE_URL", "REDIS_URL")


@dataclass
class Timings:
    """Wall time of each scenario step, written to test-artifacts for the closing note."""

    mode: str
    steps: dict[str, float | bool] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - started, 1)
            print(f"e2e[{self.mode}] {name}: {self.steps[name]} s", flush=True)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"e2e-timings-{self.mode}.json").write_text(json.dumps(self.steps, indent=2))


class Database:
    """Plain SQL on the study's database (PostgreSQL or SQLite): the outside view."""

    def __init__(self, *, url: str | None, sqlite_path: Path | None) -> None:
        self.url, self.sqlite_path = url, sqlite_path

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        assert self.sqlite_path is not None
        conn = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    def value(self, sql: str) -> Any:
        found = self.rows(sql)
        return found[0][0] if found else None


def _maintenance_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


class StudyServer:
    def __init__(self, *, mode: str, workdir: Path, extra_env: dict[str, str] | None = None):
        assert mode in ("postgres", "embedded")
        self.mode = mode
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var_dir = workdir / "var"
        self.model_dir = workdir / "models"
        self.log_path = workdir / "runall.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.db_name = f"chorus_e2e_{os.getpid()}_{secrets.token_hex(3)}"
        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
        self.database_url = base.rsplit("/", 1)[0] + "/" + self.db_name
        # Redis db 14 is this run's; the suite's own tests use db 15 (Makefile default).
        self.broker_url = os.environ.get("CHORUS_E2E_BROKER_URL", "redis://127.0.0.1:6379/14")
        self.env = self._env(extra_env or {})
        self.db = Database(
            url=self.database_url if mode == "postgres" else None,
            sqlite_path=self.var_dir / "chorus.sqlite3" if mode == "embedded" else None,
        )

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_STRIP) and k not in _SERVICE_VARS
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            DJANGO_SECRET_KEY="e2e-" + secrets.token_urlsafe(40),
            CHORUS_VAR_DIR=str(self.var_dir),
            CHORUS_MODEL_DIR=str(self.model_dir),
            CHORUS_LOG_LEVEL="INFO",
            # Two worker processes on two cores: one torch thread each (README).
            CHORUS_TORCH_THREADS="1",
            CHORUS_ANALYTICS_DEBOUNCE_S="5",
        )
        if self.mode == "postgres":
            env.update(DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url)
        env.update(extra)
        return env

    # -- lifecycle -------------------------------------------------------------------
    def prepare(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.model_dir.mkdir(parents=True, exist_ok=True)
        shared = shared_default_model()
        link = self.model_dir / DEFAULT_MODEL_FOLDER
        if not link.exists():
            link.symlink_to(shared, target_is_directory=True)
        if self.mode == "postgres":
            import psycopg
            import redis

            with psycopg.connect(_maintenance_url(self.database_url), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            redis.Redis.from_url(self.broker_url).flushdb()

    def start(self, *, timeout: float = 420) -> None:
        self.prepare()
        log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self._log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runall",
                "--no-seed",
                "--port",
                str(self.port),
                "--web-workers",
                "2",
                "--worker-concurrency",
                "2",
            ],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"runall exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                healthy = httpx.get(self.url + "/healthz", timeout=2).status_code == 200
                if healthy and "Chorus is running at" in self.log_text():
                    return
            time.sleep(0.5)
        raise AssertionError(f"Chorus did not come up in {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # What one Ctrl-C does: the supervisor stops web, worker and beat.
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        if self.mode == "postgres":
            import psycopg

            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(_maintenance_url(self.database_url), autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, n: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def assert_running(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.tail()

    # -- commands a person runs beside the server -----------------------------------
    def manage(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, (
            f"manage.py {' '.join(args)} failed ({done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done


def shared_default_model() -> Path:
    """The packaged SmolLM2 converted to Hugging Face format once per checkout."""
    target = SHARED_MODELS / DEFAULT_MODEL_FOLDER
    if (target / "config.json").exists():
        return target
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="config.settings_test")
    code = (
        "import sys, django; django.setup(); "
        "from pathlib import Path; "
        "from modelserve.generation.model_files import default_model_dir; "
        "print(default_model_dir(Path(sys.argv[1])))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(SHARED_MODELS)], cwd=ROOT, env=env, check=True, timeout=600
    )
    assert (target / "config.json").exists()
    return target


# -- HTTP as a person or a script does it ---------------------------------------------
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class WebUser:
    """A browser-less user: cookies, CSRF and forms over plain HTTP (httpx)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=True, timeout=120)

    def csrf_from(self, html: str) -> str:
        found = _CSRF_INPUT.search(html)
        assert found, "no CSRF token in the form"
        return found.group(1)

    def post_form(self, path: str, data: dict[str, Any], *, page: str | None = None) -> Any:
        html = self.http.get(page or path).text
        body = {"csrfmiddlewaretoken": self.csrf_from(html), **data}
        return self.http.post(path, data=body, headers={"Referer": self.base_url + (page or path)})

    def login(self, username: str, password: str) -> None:
        answer = self.post_form("/accounts/login/", {"username": username, "password": password})
        assert answer.status_code == 200 and "/accounts/login/" not in str(answer.url), (
            f"login of {username} failed: {answer.status_code} {answer.url}"
        )

    def api_token(self) -> str:
        """Create (or rotate) the user's API token on the account page, as a person does."""
        answer = self.post_form("/account/tokens/", {"action": "create"})
        assert answer.status_code == 200, answer.text[-2000:]
        found = re.search(r"\b([0-9a-f]{40})\b", answer.text)
        assert found, "the token page showed no new key"
        return found.group(1)

    def close(self) -> None:
        self.http.close()


def api_client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url + "/api/v1",
        headers={"Authorization": f"Token {token}"},
        timeout=300,
    )


def expect_json(answer: httpx.Response, status: int | Sequence[int] = 200) -> Any:
    wanted = (status,) if isinstance(status, int) else tuple(status)
    assert answer.status_code in wanted, (
        f"{answer.request.method} {answer.request.url} -> {answer.status_code}: "
        f"{answer.text[:2000]}"
    )
    return answer.json() if answer.content else None
