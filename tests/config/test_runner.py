"""The process supervisor behind ``make run`` (config/runner.py), with tiny child scripts."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from config.runner import ProcessSpec, Supervisor
from tests.config.helpers import ROOT, alive, wait_until

SLEEPER = "import time; print('ready', flush=True); time.sleep(120)"
# Ignores SIGTERM: only SIGKILL stops it.
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)"
)


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _stop_when_ready(sup: Supervisor, out: io.StringIO, n: int, action=None):
    """on_tick callback: once n children printed 'ready', run action (default: stop)."""

    def tick() -> None:
        if out.getvalue().count("| ready") >= n:
            (action or sup.request_stop)()

    return tick


def test_request_stop_terminates_every_child() -> None:
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("one", _py(SLEEPER)), ProcessSpec("two", _py(SLEEPER))], out=out)
    started = time.monotonic()
    assert sup.run(on_tick=_stop_when_ready(sup, out, 2), poll=0.05) == 0
    assert time.monotonic() - started < 20
    assert {name: p.returncode for name, p in sup.procs.items()} == {
        "one": -signal.SIGTERM,
        "two": -signal.SIGTERM,
    }
    # Output is relayed line by line with an aligned name prefix.
    assert "one | ready" in out.getvalue() and "two | ready" in out.getvalue()


def test_sigint_is_handled_and_previous_handler_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("web", _py(SLEEPER))], out=out)

    def interrupt() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what a terminal Ctrl-C delivers to us

    assert sup.run(on_tick=_stop_when_ready(sup, out, 1, interrupt), poll=0.05) == 0
    assert sup.procs["web"].returncode == -signal.SIGTERM
    assert signal.getsignal(signal.SIGINT) is before


def test_a_dying_child_stops_the_rest_and_fails() -> None:
    out = io.StringIO()
    sup = Supervisor(
        [
            ProcessSpec("ok", _py(SLEEPER)),
            ProcessSpec("crash", _py("import sys, time; time.sleep(0.3); sys.exit(3)")),
        ],
        out=out,
    )
    assert sup.run(poll=0.05) == 1
    assert "crash exited with code 3; stopping the rest" in out.getvalue()
    assert sup.procs["ok"].returncode == -signal.SIGTERM


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout() -> None:
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("stubborn", _py(STUBBORN))], out=out, stop_timeout=1)
    started = time.monotonic()
    assert sup.run(on_tick=_stop_when_ready(sup, out, 1), poll=0.05) == 0
    assert time.monotonic() - started < 15
    assert sup.procs["stubborn"].returncode == -signal.SIGKILL
    assert "did not stop in 1s; killing it" in out.getvalue()


def test_grandchildren_left_behind_are_swept(tmp_path: Path) -> None:
    """A leader that exits on SIGTERM while its pool process lingers (a gunicorn or
    Celery pool child) must not leave an orphan."""
    pidfile = tmp_path / "grandchild.pid"
    leader = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {STUBBORN!r}])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(120)
    """)
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("leader", _py(leader))], out=out, stop_timeout=5)
    assert sup.run(on_tick=_stop_when_ready(sup, out, 1), poll=0.05) == 0
    grandchild = int(pidfile.read_text())
    assert wait_until(lambda: not alive(grandchild), timeout=5), "grandchild survived"


def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: a SIGKILLed supervisor (OOM killer, kill -9) leaves no orphans."""
    pidfile = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import sys
        from config.runner import ProcessSpec, Supervisor
        code = (
            "import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); "
            "time.sleep(120)"
        )
        Supervisor([ProcessSpec("child", [sys.executable, "-c", code])]).run()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        assert wait_until(pidfile.exists, timeout=20), "child never started"
        wait_until(lambda: pidfile.read_text().strip() != "", timeout=5)
        child = int(pidfile.read_text())
        assert alive(child)
        proc.kill()
        proc.wait()
        assert wait_until(lambda: not alive(child), timeout=10), "child outlived supervisor"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_nothing_to_supervise_is_an_error() -> None:
    with pytest.raises(ValueError):
        Supervisor([])
