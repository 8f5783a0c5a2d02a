"""``manage.py runall``: set up and run web + Celery worker + Celery beat as one unit.

This is what ``make run`` calls. Setup, four numbered steps that each print their time:

1. migrate, with a progress line every few seconds (``applied 12/54``);
2. collectstatic (whitenoise serves the collected files from gunicorn);
3. ``prepare_models``: convert the packaged SmolLM2 once (~20 s the first time), so no
   worker converts it while an annotator waits (``CHORUS_WARM_MODELS=0`` skips it);
4. ``seed_demo`` when the database has no campaign yet (its logins are repeated in the
   banner printed once the web server answers).

Steps 1-3 are skipped with ``--no-setup``, step 4 with ``--no-seed``. Then
:class:`config.runner.Supervisor` starts

- web:    gunicorn serving ``config.wsgi``;
- worker: ``celery -A config worker`` on the queues generate, train and default;
- beat:   ``celery -A config beat`` with django-celery-beat's DatabaseScheduler;

and one Ctrl-C stops all three. The database and broker come from the environment like
everywhere else: nothing set means SQLite + kombu's filesystem broker under ``var/``.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from annotate.models import Campaign
from config.runner import ProcessSpec, Supervisor

DEFAULT_QUEUES = "generate,train,default"
SETUP_STEPS = 4
# Seconds between two "applied n/N" lines: often enough that a slow migrate visibly moves.
MIGRATE_PROGRESS_EVERY_S = 2.0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise CommandError(f"{name} must be an integer, got {raw!r}") from exc


def build_specs(
    *, host: str, port: int, web_workers: int, worker_concurrency: int, queues: str
) -> list[ProcessSpec]:
    """The three commands, with the running interpreter so no PATH lookup can pick a
    different environment."""
    python = sys.executable
    return [
        ProcessSpec(
            "web",
            [
                python, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"{host}:{port}",
                "--workers", str(web_workers),
                "--timeout", "120",
                "--graceful-timeout", "10",
                "--access-logfile", "-",
            ],
        ),
        ProcessSpec(
            "worker",
            [
                python, "-m", "celery", "-A", "config", "worker",
                "--queues", queues,
                "--concurrency", str(worker_concurrency),
                "--loglevel", "INFO",
            ],
            env=worker_threads_env(worker_concurrency),
        ),
        ProcessSpec(
            "beat",
            [
                python, "-m", "celery", "-A", "config", "beat",
                "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                "--loglevel", "INFO",
            ],
        ),
    ]  # fmt: skip


class _Steps:
    """Numbered setup steps: ``[1/4] Migrating the database ... done in 3.1 s``.

    A step's header line stays open until something else is said: ``end`` then puts
    ``done in X s`` on it; detail lines (progress, a sub-command's output) go indented
    below it, and ``done`` on a line of its own.
    """

    INDENT = "      "

    def __init__(self, out: OutputWrapper, total: int) -> None:
        self.out = out
        self.total = total
        self.number = 0
        self.started = 0.0
        self.header_open = False
        self.header_empty = False

    def begin(self, title: str = "") -> None:
        """Start the next step; with no title, the first detail line names it (a
        sub-command that says what it is doing, e.g. prepare_models)."""
        self.number += 1
        self.started = time.monotonic()
        self.out.write(
            f"[{self.number}/{self.total}] " + (f"{title} ..." if title else ""), ending=""
        )
        self.out.flush()
        self.header_open = True
        self.header_empty = not title

    def detail(self, text: str) -> None:
        if self.header_open and self.header_empty:
            self.out.write(text)
        else:
            if self.header_open:
                self.out.write("")  # close the header line
            self.out.write(self.INDENT + text)
        self.header_open = False
        self.out.flush()

    def end(self) -> None:
        text = f"done in {time.monotonic() - self.started:.1f} s"
        self.out.write(f" {text}" if self.header_open else self.INDENT + text)
        self.header_open = False
        self.out.flush()

    def skip(self, title: str, reason: str) -> None:
        self.number += 1
        self.out.write(f"[{self.number}/{self.total}] {title}: skipped ({reason})")
        self.out.flush()


class _DetailStream:
    """A text stream for ``call_command(stdout=...)`` that turns lines into step details,
    as they are written (a sub-command's progress must show up before it finishes)."""

    def __init__(self, steps: _Steps) -> None:
        self.steps = steps
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self.lines.append(line)
            self.steps.detail(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _ProgressMigrate(MigrateCommand):
    """``migrate`` that reports ``applied n/N`` every few seconds instead of every line."""

    def __init__(self, steps: _Steps, total: int) -> None:
        super().__init__()
        self.steps = steps
        self.total = total
        self.applied = 0
        self.last_report = time.monotonic()

    def migration_progress_callback(
        self, action: str, migration: Any = None, fake: bool = False
    ) -> None:
        if action != "apply_success":
            return
        self.applied += 1
        now = time.monotonic()
        if self.applied < self.total and now - self.last_report >= MIGRATE_PROGRESS_EVERY_S:
            self.last_report = now
            self.steps.detail(f"applied {self.applied}/{self.total} (last: {migration})")


def _pending_migrations() -> int:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return sum(1 for _migration, backwards in plan if not backwards)


def banner_lines(*, url: str, logins: str) -> list[str]:
    """What ``runall`` prints once the web server answers: the URL and how to log in.

    ``logins`` is the "Logins" block ``seed_demo`` printed during this start (it has
    scrolled by under the three processes' start-up output), else empty.
    """
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return [
        "",
        f"Chorus is running at {url}  (database: {database}, broker: {broker})",
        f"  log in at {url}accounts/login/   admin site: {url}admin/",
        *(
            logins.splitlines()
            or [
                "  users: admin, annotator, researcher (passwords were printed when the "
                "demo was seeded; new ones: `manage.py seed_demo --reset-passwords`)"
            ]
        ),
        "  Press Ctrl-C to stop web, worker and beat.",
        "",
    ]


def worker_threads_env(worker_concurrency: int) -> dict[str, str]:
    """Threads per pool process for local generation: cores / processes, so the worker's
    processes never oversubscribe the cores between them. CHORUS_TORCH_THREADS wins."""
    if os.environ.get("CHORUS_TORCH_THREADS", "").strip():
        return {}
    cores = os.cpu_count() or 1
    return {"CHORUS_TORCH_THREADS": str(max(1, cores // max(1, worker_concurrency)))}


def _port_open(host: str, port: int) -> bool:
    """True once something accepts TCP connections on host:port."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Migrate, seed the demo if empty, then run web + Celery worker + beat together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CHORUS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=_env_int("CHORUS_PORT", 8000))
        parser.add_argument("--web-workers", type=int, default=_env_int("CHORUS_WEB_WORKERS", 2))
        parser.add_argument(
            "--worker-concurrency", type=int, default=_env_int("CHORUS_WORKER_CONCURRENCY", 2)
        )
        parser.add_argument("--queues", default=DEFAULT_QUEUES)
        parser.add_argument(
            "--no-setup",
            action="store_true",
            help="skip migrate, collectstatic and prepare_models",
        )
        parser.add_argument("--no-seed", action="store_true", help="never run seed_demo")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=30.0,
            help="seconds to wait for a graceful stop before SIGKILL (a Celery worker on "
            "the filesystem broker needs ~5-10 s)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 0 < opts["port"] < 65536:
            raise CommandError(f"--port must be 1..65535, got {opts['port']}")
        if opts["web_workers"] < 1 or opts["worker_concurrency"] < 1:
            raise CommandError("--web-workers and --worker-concurrency must be at least 1")
        if _port_open(opts["host"], opts["port"]):
            raise CommandError(
                f"port {opts['port']} on {opts['host']} is already in use; "
                "stop that server or pass --port (CHORUS_PORT)"
            )
        self._ensure_dirs()
        setup_started = time.monotonic()
        steps = _Steps(self.stdout, SETUP_STEPS)
        if opts["no_setup"]:
            steps.skip("Migrating the database", "--no-setup")
            steps.skip("Collecting static files", "--no-setup")
            steps.skip("Preparing the default model", "--no-setup")
        else:
            self._migrate(steps)
            steps.begin("Collecting static files")
            call_command("collectstatic", interactive=False, verbosity=0)
            steps.end()
            self._prepare_models(steps)
        logins = self._seed_if_empty(steps, skip=opts["no_seed"])
        self.stdout.write(
            f"Setup finished in {time.monotonic() - setup_started:.1f} s; "
            "starting web, worker and beat ..."
        )

        host, port = opts["host"], opts["port"]
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
        supervisor = Supervisor(
            build_specs(
                host=host,
                port=port,
                web_workers=opts["web_workers"],
                worker_concurrency=opts["worker_concurrency"],
                queues=opts["queues"],
            ),
            stop_timeout=opts["stop_timeout"],
            out=sys.stdout,
            cwd=str(settings.BASE_DIR),
        )
        announced = False

        def announce_when_up() -> None:
            nonlocal announced
            if announced or not _port_open(host, port):
                return
            announced = True
            for line in banner_lines(url=url, logins=logins):
                supervisor.log("chorus", line)

        code = supervisor.run(on_tick=announce_when_up)
        if code:
            raise CommandError("a process exited unexpectedly; see its output above")
        self.stdout.write("Stopped web, worker and beat.")

    def _ensure_dirs(self) -> None:
        for path in (
            settings.VAR_DIR,
            settings.STATIC_ROOT,
            settings.MEDIA_ROOT,
            settings.CHORUS_MODEL_DIR,
            settings.CHORUS_EXPORT_DIR,
        ):
            os.makedirs(path, exist_ok=True)

    def _migrate(self, steps: _Steps) -> None:
        pending = _pending_migrations()
        steps.begin(
            f"Migrating the database ({pending} migrations to apply)"
            if pending
            else "Migrating the database (up to date)"
        )
        call_command(_ProgressMigrate(steps, pending), interactive=False, verbosity=0)
        steps.end()

    def _prepare_models(self, steps: _Steps) -> None:
        """Convert the default model now, not on a worker while an annotator waits."""
        if not settings.CHORUS_WARM_MODELS:
            steps.skip("Preparing the default model", "CHORUS_WARM_MODELS=0")
            return
        steps.begin()
        try:
            call_command("prepare_models", stdout=_DetailStream(steps))
        except CommandError as exc:
            # The web and openai endpoints work without it; local generation will report it.
            steps.detail(f"skipped: {exc}")

    def _seed_if_empty(self, steps: _Steps, *, skip: bool) -> str:
        """Run ``seed_demo`` on a database without campaigns; return its logins, indented.

        Without a ``seed_demo`` command (a trimmed install) this step is a no-op.
        """
        if skip:
            steps.skip("Seeding the demo", "--no-seed")
            return ""
        if Campaign.objects.exists():
            steps.skip("Seeding the demo", "the database already has campaigns")
            return ""
        if "seed_demo" not in get_commands():
            steps.skip("Seeding the demo", "no seed_demo command; starting empty")
            return ""
        steps.begin("Seeding the demo")
        stream = _DetailStream(steps)
        call_command("seed_demo", stdout=stream)
        steps.end()
        # Repeat only the logins in the banner: the rest has scrolled by already. Without
        # a "Logins" block (nothing new was created) the banner says how to get new ones.
        lines = stream.lines
        start = next((i for i, line in enumerate(lines) if line.startswith("Logins")), None)
        if start is None:
            return ""
        return "\n".join("  " + line for line in lines[start:])
