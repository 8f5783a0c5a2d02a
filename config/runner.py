"""A small process supervisor: run web, worker and beat together, stop them together.

``manage.py runall`` (what ``make run`` calls) builds the commands and hands them to
:class:`Supervisor`. It is deliberately tiny, in the spirit of honcho/foreman:

- every child runs in its own session, so a terminal Ctrl-C reaches only the supervisor,
  which then asks each child to stop exactly once (SIGTERM: gunicorn and Celery shut down
  gracefully on it; a second SIGINT from the terminal would make Celery cold-stop);
- on Linux each child also gets ``PR_SET_PDEATHSIG`` so it is told to stop even if the
  supervisor itself is killed with SIGKILL;
- if one child dies on its own the others are stopped and the supervisor exits non-zero,
  so a broken setup is loud instead of half-running;
- a child that ignores SIGTERM for ``stop_timeout`` seconds is killed with its whole
  process group (gunicorn workers, Celery pool processes).

No Django imports: this module is plain subprocess handling and is unit-tested as such.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TextIO

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running child: a name for log prefixes, its argv and extra environment."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)


def _child_setup_factory() -> Callable[[], None]:
    """Return a ``preexec_fn`` that detaches the child and ties its life to ours.

    ctypes lookups happen here, before fork, so the function run in the child only
    makes two system calls.
    """
    parent = os.getpid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # not Linux: sessions still isolate Ctrl-C
        prctl = None

    def setup() -> None:
        os.setsid()
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            # The parent may have died between fork and prctl; then nobody would signal us.
            if os.getppid() != parent:
                os._exit(1)

    return setup


class Supervisor:
    """Start a set of processes, relay their output with a name prefix, stop them as one."""

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        stop_timeout: float = 15.0,
        out: TextIO | None = None,
        cwd: str | None = None,
    ) -> None:
        if not specs:
            raise ValueError("nothing to supervise")
        self.specs = list(specs)
        self.stop_timeout = stop_timeout
        self.out = out or sys.stdout
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stop_requested = threading.Event()
        self._force = False
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        self._width = max(len(s.name) for s in self.specs)

    # -- output ----------------------------------------------------------------------
    def log(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<{self._width}} | {line.rstrip()}\n")
            self.out.flush()

    def _relay(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.log(name, raw.decode("utf-8", errors="replace"))
        stream.close()

    # -- signals ---------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stop_requested.is_set():
            # Second Ctrl-C: the user does not want to wait for a graceful stop.
            self._force = True
        self._stop_requested.set()

    def request_stop(self) -> None:
        self._stop_requested.set()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        setup = _child_setup_factory()
        for spec in self.specs:
            env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
            self.procs[spec.name] = subprocess.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                preexec_fn=setup,  # safe: no threads exist yet (readers start below)
            )
        # Readers start only after every fork: preexec_fn is unsafe once threads exist.
        for name, proc in self.procs.items():
            assert proc.stdout is not None
            reader = threading.Thread(target=self._relay, args=(name, proc.stdout), daemon=True)
            reader.start()
            self._readers.append(reader)

    def run(self, *, on_tick: Callable[[], None] | None = None, poll: float = 0.25) -> int:
        """Start everything and block until a signal or a child's death; return exit code.

        0 when stopped on request (Ctrl-C, SIGTERM), 1 when a child exited by itself.
        """
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            self.start()
            failed: str | None = None
            while not self._stop_requested.is_set():
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        failed = name
                        break
                if failed:
                    code = self.procs[failed].returncode
                    self.log("chorus", f"{failed} exited with code {code}; stopping the rest")
                    break
                if on_tick is not None:
                    on_tick()
                self._stop_requested.wait(poll)
            self.stop()
            return 1 if failed else 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        """SIGTERM every live child, wait, then SIGKILL whole process groups that linger."""
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_quietly(proc.pid, signal.SIGTERM, group=False)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and not self._force:
            if all(proc.poll() is not None for proc in self.procs.values()):
                break
            time.sleep(0.1)
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.log("chorus", f"{name} did not stop in {self.stop_timeout:g}s; killing it")
            # The leader may be gone while its pool processes linger: sweep the group.
            _signal_quietly(proc.pid, signal.SIGKILL, group=True)
            proc.wait()
        for reader in self._readers:
            reader.join(timeout=2)


def _signal_quietly(pid: int, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)  # children are session leaders: pgid == pid
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
