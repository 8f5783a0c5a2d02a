"""``manage.py runall`` (what ``make run`` starts): the embedded mode end to end.

No DATABASE_URL, no broker URL: Chorus must migrate SQLite under CHORUS_VAR_DIR, serve
the login page through gunicorn (static files through whitenoise), and a worker must
process a task sent over kombu's filesystem broker. Ctrl-C (SIGINT) stops everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from celery import Celery

from annotate.management.commands.runall import DEFAULT_QUEUES, build_specs
from tests.config.helpers import ROOT, alive, descendants, env_without, free_port, tail

SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL")


def test_specs_run_web_worker_and_beat_on_every_queue() -> None:
    specs = build_specs(
        host="127.0.0.1", port=8123, web_workers=3, worker_concurrency=2, queues=DEFAULT_QUEUES
    )
    argv = {spec.name: " ".join(spec.argv) for spec in specs}
    assert set(argv) == {"web", "worker", "beat"}
    assert "gunicorn config.wsgi:application --bind 127.0.0.1:8123 --workers 3" in argv["web"]
    assert (
        "celery -A config worker --queues generate,train,default --concurrency 2"
        in (argv["worker"])
    )
    assert "beat --scheduler django_celery_beat.schedulers:DatabaseScheduler" in argv["beat"]
    # The interpreter running manage.py, never whatever `celery` is first on PATH.
    assert all(spec.argv[0] == sys.executable for spec in specs)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _filesystem_app(var: Path) -> Celery:
    """A bare Celery client on the same folders config/settings.py gives embedded mode."""
    broker = var / "celery" / "broker"
    app = Celery("probe", broker="filesystem://", backend=f"file://{var / 'celery' / 'results'}")
    app.conf.broker_transport_options = {
        "data_folder_in": str(broker / "out"),
        "data_folder_out": str(broker / "out"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }
    return app


@pytest.mark.slow
def test_embedded_mode_serves_login_and_processes_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    port = free_port()
    log = tmp_path / "runall.log"
    env = env_without(
        *SERVICE_VARS,
        "CELERY_TASK_ALWAYS_EAGER",
        CHORUS_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    argv = [
        sys.executable, "manage.py", "runall", "--port", str(port), "--no-seed",
        "--web-workers", "1", "--worker-concurrency", "1",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        status = 0
        for _ in range(180):  # migrate + three process starts on a 2-core box
            status, body = _get(f"{base}/accounts/login/")
            if status == 200 or proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.5"], check=True)
        assert status == 200, tail(log)
        assert b"csrfmiddlewaretoken" in body
        assert (var / "chorus.sqlite3").is_file()
        # Static files come from gunicorn itself (whitenoise over collectstatic's output).
        assert _get(f"{base}/static/chorus.css")[0] == 200, tail(log)
        assert _get(f"{base}/healthz") == (200, b'{"status": "ok"}')

        # Celery lets these variables override any configuration: clear them for the probe.
        for name in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL", "CELERY_RESULT_BACKEND"):
            monkeypatch.delenv(name, raising=False)
        pong = _filesystem_app(var).send_task("annotate.tasks.ping", queue="default")
        try:
            assert pong.get(timeout=60) == {"pong": True, "database": "sqlite", "select_1": 1}
        except Exception as exc:
            raise AssertionError(f"{exc!r}\n{tail(log)}") from exc

        tree = descendants(proc.pid)
        commands = " ".join(tree.values())
        for needle in ("gunicorn", "celery -A config worker", "celery -A config beat"):
            assert needle in commands, commands
        assert not (ROOT / "control").exists() or all(
            p.stat().st_mtime < log.stat().st_ctime for p in (ROOT / "control").iterdir()
        ), "the filesystem broker wrote exchange tables into the checkout"

        proc.send_signal(signal.SIGINT)  # one Ctrl-C
        assert proc.wait(timeout=60) == 0, tail(log)
        survivors = [pid for pid in tree if alive(pid)]
        assert survivors == [], {pid: tree[pid] for pid in survivors}
        assert "Stopped web, worker and beat." in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
