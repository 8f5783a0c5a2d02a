"""Worker warm-up: a pool process on the "generate" queue loads the default model at start.

Unit tests call the handler's pieces in-process; the slow test starts a real prefork
worker (embedded settings, a throwaway CHORUS_VAR_DIR) whose "prepared default model"
is the tiny test model, so the signal, the queue check in a forked pool process and the
real ``load_cached`` all run, in seconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelserve.generation import model_files
from modelserve.generation import warmup as signals
from modelserve.generation.backends import local as local_backend
from modelserve.generation.model_files import DEFAULT_MODEL_NAME
from tests.config.helpers import ROOT, env_without, tail, wait_until


@pytest.fixture
def model_root(settings, tmp_path):
    settings.CHORUS_MODEL_DIR = tmp_path / "models"
    settings.CHORUS_MODEL_DIR.mkdir()
    # These tests read the transformers cache; the real-worker test below covers the
    # default engine (CTranslate2) end to end.
    settings.CHORUS_LOCAL_ENGINE = "transformers"
    local_backend.clear_cache()
    yield settings.CHORUS_MODEL_DIR
    local_backend.clear_cache()


@pytest.fixture
def no_conversion(monkeypatch):
    calls: list[Path] = []

    def convert(gguf: Path, *, root: Path, target: Path) -> None:
        calls.append(target)
        raise AssertionError("warm-up must not convert here")

    monkeypatch.setattr(model_files, "_convert_gguf", convert)
    return calls


def _prepare(model_root: Path, tiny_model_dir: Path) -> Path:
    target = model_root / DEFAULT_MODEL_NAME
    shutil.copytree(tiny_model_dir, target)
    return target


def test_prepared_default_model_is_loaded_into_the_cache(model_root, tiny_model_dir):
    target = _prepare(model_root, tiny_model_dir)
    assert signals.warm_default_model() is True
    assert local_backend.cached_folders() == [str(target.resolve())]


@pytest.mark.django_db
def test_nothing_is_loaded_without_a_prepared_model_or_an_endpoint(model_root, no_conversion):
    assert signals.warm_default_model() is False
    assert local_backend.cached_folders() == []
    assert no_conversion == []


@pytest.mark.django_db
def test_an_enabled_default_endpoint_gets_its_model_converted_and_loaded(
    model_root, tiny_model_dir, monkeypatch
):
    from modelserve.generation.models import ModelEndpoint

    ModelEndpoint.objects.create(name="off", backend="local", model="default", enabled=False)
    assert signals.warm_default_model() is False
    ModelEndpoint.objects.create(name="on", backend="local", model="default")
    monkeypatch.setattr(
        model_files, "_convert_gguf", lambda gguf, *, root, target: _prepare(root, tiny_model_dir)
    )
    assert signals.warm_default_model() is True
    assert local_backend.cached_folders() == [str((model_root / DEFAULT_MODEL_NAME).resolve())]


def test_broken_model_files_never_stop_the_worker(model_root):
    (model_root / DEFAULT_MODEL_NAME).mkdir()
    (model_root / DEFAULT_MODEL_NAME / "config.json").write_text("not json")
    assert signals.warm_default_model() is False  # logged, not raised


@pytest.mark.parametrize(
    ("enabled", "queues", "starts"),
    [
        (True, {"generate", "train", "default"}, True),
        (True, {"default"}, False),
        (False, {"generate"}, False),
    ],
)
def test_handler_warms_only_generate_workers_unless_turned_off(
    settings, monkeypatch, enabled, queues, starts
):
    settings.CHORUS_WARM_MODELS = enabled
    warmed: list[bool] = []
    monkeypatch.setattr(signals, "_consumed_queues", lambda: queues)
    monkeypatch.setattr(signals, "warm_default_model", lambda: warmed.append(True) or True)
    monkeypatch.setattr(signals.connection, "close", lambda: None)
    thread = signals.worker_process_warm(sender="w@host")
    if thread is not None:
        thread.join(timeout=10)
    assert (thread is not None) is starts
    assert warmed == ([True] if starts else [])


@pytest.mark.slow
def test_real_worker_warms_each_pool_process(tmp_path, tiny_model_dir):
    var, models = tmp_path / "var", tmp_path / "models"
    target = _prepare(models, tiny_model_dir)
    log = tmp_path / "worker.log"
    env = env_without(
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "REDIS_URL",
        "CHORUS_WARM_MODELS",
        DJANGO_SETTINGS_MODULE="config.settings",
        CHORUS_VAR_DIR=str(var),
        CHORUS_MODEL_DIR=str(models),
        PYTHONUNBUFFERED="1",
    )
    argv = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", "generate",
        "--concurrency", "2", "--pool", "prefork", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--hostname", "warm@%h",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
    pattern = re.compile(r"default model ready in pool process (\d+) \([\d.]+ s, (.+)\)")
    try:
        assert wait_until(
            lambda: len(pattern.findall(log.read_text())) >= 2, timeout=120, interval=0.5
        ), tail(log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    found = pattern.findall(log.read_text())
    assert len({pid for pid, _ in found}) == 2, found  # each pool process, not the parent
    # The engine that will serve is the one warmed: CTranslate2 by default, on the int8
    # copy converted (once, under its lock) from the prepared folder.
    assert {folder for _, folder in found} == {str(target.resolve() / "ct2-int8")}
