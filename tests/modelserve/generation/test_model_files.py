"""The default model is converted exactly once, whatever number of processes ask at once.

Found live: both worker processes converted the GGUF on the first request (a threading
lock is per process) and the first reply took ~70 s. ``default_model_dir`` now holds an
flock on ``CHORUS_MODEL_DIR/.convert.lock``.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelserve.generation import model_files
from modelserve.generation.model_files import DEFAULT_MODEL_NAME, LOCK_FILE_NAME, default_model_dir
from tests.config.helpers import ROOT, env_without, wait_until


def _fake_convert(calls: Path, seconds: float):
    """A stand-in for the 20 s conversion with the same contract: temp folder, rename."""

    def convert(gguf: Path, *, root: Path, target: Path) -> None:
        with calls.open("a") as fh:  # O_APPEND: lines of several processes never mix
            fh.write(f"{os.getpid()}\n")
        tmp = root / f".convert-{os.getpid()}"
        tmp.mkdir()
        time.sleep(seconds)
        (tmp / "config.json").write_text("{}")
        try:
            tmp.rename(target)
        except OSError:  # what the real one does when it loses a race
            if not (target / "config.json").exists():
                raise

    return convert


def _ask(root: str, barrier, results) -> None:  # runs in a forked child
    waited: list[bool] = []
    try:
        barrier.wait(timeout=30)
        path = default_model_dir(Path(root), on_wait=lambda: waited.append(True))
        results.put((os.getpid(), str(path), bool(waited)))
    except BaseException as exc:  # report instead of leaving the parent waiting
        results.put((os.getpid(), repr(exc), bool(waited)))


def test_three_processes_at_once_convert_exactly_once(tmp_path, monkeypatch):
    root, calls = tmp_path / "models", tmp_path / "calls.log"
    # Forked children inherit the patched converter; the locking code around it is real.
    monkeypatch.setattr(model_files, "_convert_gguf", _fake_convert(calls, seconds=1.0))
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(str(root), barrier, results)) for _ in range(3)]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0

    assert len(calls.read_text().splitlines()) == 1, "more than one process converted"
    assert {path for _, path, _ in answers} == {str(root / DEFAULT_MODEL_NAME)}
    # They really asked at the same time: the other two found the lock taken and waited.
    assert sorted(waited for _, _, waited in answers) == [False, True, True]
    assert (root / LOCK_FILE_NAME).exists()
    assert not list(root.glob(".convert-*"))


def test_prepared_model_is_returned_without_locking_or_converting(tmp_path, monkeypatch):
    root, calls = tmp_path / "models", tmp_path / "calls.log"
    monkeypatch.setattr(model_files, "_convert_gguf", _fake_convert(calls, seconds=0))
    assert default_model_dir(root) == root / DEFAULT_MODEL_NAME
    assert default_model_dir(root) == root / DEFAULT_MODEL_NAME
    assert len(calls.read_text().splitlines()) == 1


def test_a_dead_converters_temporary_folder_is_swept(tmp_path, monkeypatch):
    root, calls = tmp_path / "models", tmp_path / "calls.log"
    stale = root / ".convert-killed"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half written")
    monkeypatch.setattr(model_files, "_convert_gguf", _fake_convert(calls, seconds=0))
    default_model_dir(root)
    assert not stale.exists()
    assert (root / DEFAULT_MODEL_NAME / "config.json").exists()


# Imports torch/transformers before the barrier so both processes reach it together.
CHILD = """
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="LOG %(message)s", stream=sys.stdout)
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401
from modelserve.generation.model_files import default_model_dir
root, go, ready = map(Path, sys.argv[1:4])
ready.touch()
while not go.exists():
    time.sleep(0.01)
print("RESULT", default_model_dir(root), flush=True)
"""


@pytest.mark.slow
def test_real_gguf_two_processes_convert_once(tmp_path):
    """The real packaged GGUF, no patching: two processes, one conversion (~20 s)."""
    root, go = tmp_path / "models", tmp_path / "go"
    env = env_without("DJANGO_SETTINGS_MODULE", PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    procs = []
    for i in range(2):
        log = (tmp_path / f"child{i}.log").open("wb")
        argv = [sys.executable, "-c", CHILD, str(root), str(go), str(tmp_path / f"ready{i}")]
        procs.append((subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log), log))
    try:
        both_ready = wait_until(
            lambda: all((tmp_path / f"ready{i}").exists() for i in range(2)), timeout=120
        )
        assert both_ready, [p.poll() for p, _ in procs]
        go.touch()
        for proc, log in procs:
            assert proc.wait(timeout=300) == 0
            log.close()
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
    outputs = [(tmp_path / f"child{i}.log").read_text() for i in range(2)]
    joined = "\n".join(outputs)
    assert joined.count("LOG Converting ") == 1, joined
    assert joined.count("LOG Another process is converting the default model") == 1, joined
    target = root / DEFAULT_MODEL_NAME
    assert all(f"RESULT {target}" in out for out in outputs), joined
    assert (target / "config.json").exists() and (target / "tokenizer.json").exists()
    assert not list(root.glob(".convert-*"))
