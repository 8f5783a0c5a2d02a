"""``manage.py runall``: set up and run web + Celery worker + Celery beat as one unit.

This is what ``make run`` calls. Setup (skippable with ``--no-setup``): migrate,
collectstatic (whitenoise serves the collected files from gunicorn), and ``seed_demo``
when the database has no campaign yet. Then :class:`config.runner.Supervisor` starts

- web:    gunicorn serving ``config.wsgi``;
- worker: ``celery -A config worker`` on the queues generate, train and default;
- beat:   ``celery -A config beat`` with django-celery-beat's DatabaseScheduler;

and one Ctrl-C stops all three. The database and broker come from the environment like
everywhere else: nothing set means SQLite + kombu's filesystem broker under ``var/``.
"""

from __future__ import annotations

import io
import os
import socket
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.runner import ProcessSpec, Supervisor

DEFAULT_QUEUES = "generate,train,default"


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
        parser.add_argument("--no-setup", action="store_true", help="skip migrate/collectstatic")
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
        if not opts["no_setup"]:
            self.stdout.write("Migrating the database ...")
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
        logins = "" if opts["no_seed"] else self._seed_if_empty()

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
            database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
            broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
            banner = [
                "",
                f"Chorus is running at {url}  (database: {database}, broker: {broker})",
                f"  log in at {url}accounts/login/   admin site: {url}admin/",
                logins
                or "  users: admin, annotator, researcher (passwords were printed when the "
                "demo was seeded; new ones: `manage.py seed_demo --reset-passwords`)",
                "  Press Ctrl-C to stop web, worker and beat.",
                "",
            ]
            supervisor.log("chorus", "\n".join(banner))

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

    def _seed_if_empty(self) -> str:
        """Run ``seed_demo`` on a database without campaigns; return what it printed.

        The command belongs to the demo area; until it exists this step is a no-op.
        """
        from annotate.models import Campaign

        if Campaign.objects.exists():
            return ""
        if "seed_demo" not in get_commands():
            self.stdout.write("No campaigns and no seed_demo command: starting empty.")
            return ""
        buffer = io.StringIO()
        call_command("seed_demo", stdout=buffer)
        printed = buffer.getvalue().rstrip()
        self.stdout.write(printed)
        # Repeat only the logins in the banner: the rest has scrolled by already.
        lines = printed.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("Logins")), 0)
        return "\n".join("  " + line for line in lines[start:])
