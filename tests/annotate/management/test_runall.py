"""``manage.py runall`` (what ``make run`` starts): the embedded mode end to end.

No DATABASE_URL, no broker URL: Chorus must migrate SQLite under CHORUS_VAR_DIR, serve
the login page through gunicorn (static files through whitenoise), and a worker must
process a task sent over kombu's filesystem broker. Ctrl-C (SIGINT) stops everything.
Setup prints numbered, timed steps (migrate, collectstatic, prepare_models, seed_demo)
and the banner repeats the logins seed_demo printed.
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.core.management.base import OutputWrapper

from annotate.management.commands import runall
from annotate.management.commands.runall import DEFAULT_QUEUES, build_specs
from modelserve.generation import model_files
from modelserve.generation.model_files import DEFAULT_MODEL_NAME
from tests.config.helpers import (
    ROOT,
    alive,
    descendants,
    env_without,
    free_port,
    tail,
    wait_until,
)
from tests.modelserve.conftest import build_tiny_model

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


class _FakeSupervisor:
    """Stands in for config.runner.Supervisor: records the banner instead of forking."""

    instances: list[_FakeSupervisor] = []

    def __init__(self, specs, **kwargs) -> None:
        self.specs = specs
        self.lines: list[str] = []
        _FakeSupervisor.instances.append(self)

    def log(self, name: str, line: str) -> None:
        self.lines.append(f"{name} | {line}")

    def run(self, *, on_tick=None, poll: float = 0.25) -> int:
        _FakeSupervisor.web_up = True
        assert on_tick is not None
        on_tick()
        on_tick()  # the banner is printed once, not on every tick
        return 0


@pytest.fixture
def fake_start(settings, tmp_path, monkeypatch):
    """runall with every side effect local: folders under tmp_path, no child processes."""
    settings.VAR_DIR = tmp_path / "var"
    settings.STATIC_ROOT = tmp_path / "static"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHORUS_EXPORT_DIR = tmp_path / "exports"
    settings.CHORUS_MODEL_DIR = tmp_path / "models"
    settings.CHORUS_WARM_MODELS = True
    conversions: list[Path] = []
    tiny = build_tiny_model(tmp_path / "tiny")

    def convert(gguf: Path, *, root: Path, target: Path) -> None:
        conversions.append(target)
        shutil.copytree(tiny, target)

    monkeypatch.setattr(model_files, "_convert_gguf", convert)
    _FakeSupervisor.instances = []
    _FakeSupervisor.web_up = False
    monkeypatch.setattr(runall, "Supervisor", _FakeSupervisor)
    monkeypatch.setattr(runall, "_port_open", lambda host, port: _FakeSupervisor.web_up)
    return conversions


def _runall(*args: str) -> tuple[str, list[str]]:
    out = io.StringIO()
    _FakeSupervisor.web_up = False  # nothing listens until the "processes" start
    call_command("runall", "--port", str(free_port()), *args, stdout=out)
    return out.getvalue(), _FakeSupervisor.instances[-1].lines


@pytest.mark.django_db
def test_setup_prints_numbered_timed_steps_and_the_banner_repeats_logins(fake_start, settings):
    out, banner = _runall()
    lines = out.splitlines()
    assert re.fullmatch(
        r"\[1/4\] Migrating the database \((up to date|\d+ migrations to apply)\) \.\.\."
        r"( done in [\d.]+ s)?",
        lines[0],
    ), out
    assert re.search(r"^\[2/4\] Collecting static files \.\.\. done in [\d.]+ s$", out, re.M)
    target = settings.CHORUS_MODEL_DIR / DEFAULT_MODEL_NAME
    assert (
        "[3/4] Preparing the default model (SmolLM2-135M-Instruct): converting GGUF to "
        "Hugging Face format, about 20 s the first time ...\n"
        "      ready in "
    ) in out
    assert f" s at {target}\n" in out
    assert fake_start == [target], "the model was not prepared before the processes started"
    assert "[4/4] Seeding the demo ...\n      Demo created:" in out
    assert re.search(
        r"^      done in [\d.]+ s\nSetup finished in [\d.]+ s; starting web", out, re.M
    )
    assert out.rstrip().endswith("Stopped web, worker and beat.")

    # The passwords seed_demo printed come back, every line prefixed, after start-up.
    printed = dict(re.findall(r"^        (admin|annotator|researcher) +(\S+)$", out, re.M))
    assert set(printed) == {"admin", "annotator", "researcher"}
    text = "\n".join(banner)
    assert "chorus | Chorus is running at http://127.0.0.1:" in text
    for username, password in printed.items():
        assert re.search(rf"^chorus \|     {username} +{re.escape(password)}$", text, re.M), text
    assert text.count("Chorus is running at") == 1


@pytest.mark.django_db
def test_second_start_skips_what_is_done(fake_start, settings):
    _runall()
    out, banner = _runall()
    target = settings.CHORUS_MODEL_DIR / DEFAULT_MODEL_NAME
    assert len(fake_start) == 1, "the second start converted again"
    assert f"[3/4] Default model (SmolLM2-135M-Instruct) already prepared at {target}\n" in out
    assert "[4/4] Seeding the demo: skipped (the database already has campaigns)" in out
    assert any("passwords were printed when the demo was seeded" in line for line in banner)


@pytest.mark.django_db
def test_skips_are_numbered_and_say_why(fake_start, settings):
    out, _ = _runall("--no-setup", "--no-seed")
    assert out.splitlines()[:4] == [
        "[1/4] Migrating the database: skipped (--no-setup)",
        "[2/4] Collecting static files: skipped (--no-setup)",
        "[3/4] Preparing the default model: skipped (--no-setup)",
        "[4/4] Seeding the demo: skipped (--no-seed)",
    ]
    settings.CHORUS_WARM_MODELS = False
    out, _ = _runall("--no-seed")
    assert "[3/4] Preparing the default model: skipped (CHORUS_WARM_MODELS=0)" in out
    assert fake_start == []


def test_migrate_progress_is_a_line_every_few_seconds(monkeypatch) -> None:
    out = io.StringIO()
    steps = runall._Steps(OutputWrapper(out), 4)
    steps.begin("Migrating the database (5 migrations to apply)")
    command = runall._ProgressMigrate(steps, 5)
    clock = iter([1.0, 2.5, 3.0, 4.9, 9.0])
    monkeypatch.setattr(runall.time, "monotonic", lambda: next(clock))
    command.last_report = 0.0
    for name in ("a.0001", "a.0002", "a.0003", "b.0001", "b.0002"):
        command.migration_progress_callback("apply_start", name)
        command.migration_progress_callback("apply_success", name)
    assert out.getvalue().splitlines() == [
        "[1/4] Migrating the database (5 migrations to apply) ...",
        "      applied 2/5 (last: a.0002)",
        "      applied 4/5 (last: b.0001)",
    ]


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
    # A "prepared" default model that loads in milliseconds: step 3 finds it, and the
    # worker's pool process warms it through the real signal and load_cached.
    models = tmp_path / "models"
    build_tiny_model(models / DEFAULT_MODEL_NAME)
    port = free_port()
    log = tmp_path / "runall.log"
    env = env_without(
        *SERVICE_VARS,
        "CELERY_TASK_ALWAYS_EAGER",
        "CHORUS_WARM_MODELS",
        CHORUS_VAR_DIR=str(var),
        CHORUS_MODEL_DIR=str(models),
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
        setup = log.read_text()
        assert "[1/4] Migrating the database (" in setup, setup
        assert "[2/4] Collecting static files ... done in " in setup
        assert f"[3/4] Default model (SmolLM2-135M-Instruct) already prepared at {models}" in setup
        assert "[4/4] Seeding the demo: skipped (--no-seed)" in setup
        assert wait_until(
            lambda: "default model ready in pool process" in log.read_text(), timeout=60
        ), tail(log)

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


def test_worker_threads_split_the_cores_between_pool_processes(monkeypatch) -> None:
    from annotate.management.commands.runall import worker_threads_env

    monkeypatch.delenv("CHORUS_TORCH_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert worker_threads_env(2) == {"CHORUS_TORCH_THREADS": "4"}
    assert worker_threads_env(16) == {"CHORUS_TORCH_THREADS": "1"}
    specs = build_specs(
        host="127.0.0.1", port=8123, web_workers=1, worker_concurrency=4, queues=DEFAULT_QUEUES
    )
    assert {s.name: s.env for s in specs}["worker"] == {"CHORUS_TORCH_THREADS": "2"}
    monkeypatch.setenv("CHORUS_TORCH_THREADS", "3")  # an explicit setting wins
    assert worker_threads_env(2) == {}
