"""``manage.py prepare_models``: converts once with progress lines, then is instant."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from modelserve.generation import model_files
from modelserve.generation.model_files import DEFAULT_MODEL_NAME, ModelFilesError


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("prepare_models", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def conversions(settings, tmp_path, monkeypatch, tiny_model_dir):
    """A fresh CHORUS_MODEL_DIR whose "conversion" copies the tiny model (and is counted)."""
    settings.CHORUS_MODEL_DIR = tmp_path / "models"
    calls: list[int] = []

    def convert(gguf: Path, *, root: Path, target: Path) -> None:
        calls.append(os.getpid())
        shutil.copytree(tiny_model_dir, target)

    monkeypatch.setattr(model_files, "_convert_gguf", convert)
    return calls


def test_second_run_does_not_convert(conversions, settings):
    target = settings.CHORUS_MODEL_DIR / DEFAULT_MODEL_NAME
    first = _run()
    assert conversions == [os.getpid()]
    assert (
        "Preparing the default model (SmolLM2-135M-Instruct): converting GGUF to Hugging Face "
        "format, about 20 s the first time ..."
    ) in first
    assert f" s at {target}" in first and "ready in " in first

    started = time.monotonic()
    second = _run()
    assert time.monotonic() - started < 1.0
    assert conversions == [os.getpid()], "the second run converted again"
    lines = second.strip().splitlines()
    assert lines[0] == f"Default model (SmolLM2-135M-Instruct) already prepared at {target}"
    assert all("already prepared" in line for line in lines)  # the CTranslate2 copy too


def test_load_checks_the_prepared_files(conversions):
    out = _run("--load")
    assert "loaded in " in out


def test_a_missing_package_is_a_command_error_with_the_fix(conversions, monkeypatch):
    def missing():
        raise ModelFilesError("The default model is missing: install it with `pip install ...`")

    monkeypatch.setattr(model_files, "packaged_gguf_path", missing)
    with pytest.raises(CommandError, match="install it with"):
        _run()
    assert conversions == []


@pytest.mark.slow
def test_prepare_models_also_makes_the_ctranslate2_copy_once(settings, tmp_path) -> None:
    """The default engine's int8 copy exists before any worker starts (real converter)."""
    import shutil

    from django.core.management import call_command

    from modelserve.generation.model_files import DEFAULT_MODEL_NAME, default_model_dir

    shared = default_model_dir()  # the suite's converted SmolLM2 (HF format)
    folder = tmp_path / DEFAULT_MODEL_NAME
    shutil.copytree(shared, folder, ignore=shutil.ignore_patterns("ct2-*", ".ct2-*"))
    settings.CHORUS_MODEL_DIR = tmp_path
    settings.CHORUS_LOCAL_ENGINE = "ctranslate2"
    out = io.StringIO()
    call_command("prepare_models", stdout=out)
    assert (folder / "ct2-int8" / "model.bin").exists()
    assert "Converting it for CTranslate2 (int8)" in out.getvalue()
    again = io.StringIO()
    call_command("prepare_models", stdout=again)
    assert "CTranslate2 copy (int8) already prepared" in again.getvalue()
