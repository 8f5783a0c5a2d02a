"""The CTranslate2 engine: converted once beside the HF folder, batched, with a fallback."""

from __future__ import annotations

import re
import shutil
import threading

import pytest

from modelserve.generation.backends import BatchRow, SamplingParams, backend_get
from modelserve.generation.backends import ct2 as ct2_engine
from modelserve.generation.backends import local as local_backend

CHAT = [{"role": "user", "content": "Say something."}]


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.CHORUS_LOCAL_ENGINE = "ctranslate2"
    ct2_engine.clear_cache()
    local_backend.clear_cache()
    yield
    ct2_engine.clear_cache()
    local_backend.clear_cache()


@pytest.fixture
def policy_dir(tiny_model_dir, tmp_path):
    folder = tmp_path / "policy-v1"
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns("ct2-*", ".ct2-*"))
    return folder


def test_converted_once_under_a_lock_and_cached_beside_the_folder(policy_dir, monkeypatch):
    from ctranslate2.converters import TransformersConverter

    from modelserve.generation.backends.ct2_files import ct2_dir

    calls: list[str] = []
    real = TransformersConverter.convert

    def counting(self, output_dir, **kw):
        calls.append(output_dir)
        return real(self, output_dir, **kw)

    monkeypatch.setattr(TransformersConverter, "convert", counting)
    out: list[object] = []
    threads = [threading.Thread(target=lambda: out.append(ct2_dir(policy_dir))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # written to a temp folder, renamed into place
    assert set(out) == {policy_dir / "ct2-int8"}
    assert (policy_dir / "ct2-int8" / "model.bin").exists()
    assert not list(policy_dir.glob(".ct2-convert-*"))


def test_batch_generates_streams_and_stops_per_row(policy_dir):
    backend = backend_get(backend="local", model=str(policy_dir))
    pieces: list[str] = []
    rows = [
        BatchRow(CHAT, SamplingParams(max_new_tokens=3, temperature=0), on_text=pieces.append),
        BatchRow(CHAT, SamplingParams(max_new_tokens=9, temperature=0.8, seed=3)),
        BatchRow(CHAT, SamplingParams(max_new_tokens=5, temperature=0.8, seed=4)),
    ]
    results = backend.generate_batch(rows)
    assert results[0].model.startswith("ctranslate2:")
    assert results[0].n_tokens == 3 and results[0].finish_reason == "length"
    assert "".join(pieces) == results[0].text
    assert 1 <= results[1].n_tokens <= 9 and 1 <= results[2].n_tokens <= 5
    greedy_again = backend.generate(CHAT, SamplingParams(max_new_tokens=3, temperature=0))
    assert greedy_again.text == results[0].text


def test_conversion_failure_falls_back_to_transformers(policy_dir, monkeypatch, caplog):
    from modelserve.generation.backends import ct2_files

    def broken(*args, **kwargs):
        raise ct2_files.Ct2ConversionError("unsupported architecture")

    monkeypatch.setattr(ct2_engine, "ct2_dir", broken)
    backend = backend_get(backend="local", model=str(policy_dir))
    result = backend.generate(CHAT, SamplingParams(max_new_tokens=3, temperature=0))
    assert result.text and not result.model.startswith("ctranslate2:")
    assert "using transformers" in caplog.text


def test_engine_setting_picks_transformers(policy_dir, settings):
    settings.CHORUS_LOCAL_ENGINE = "transformers"
    assert ct2_engine.ct2_backend_for(str(policy_dir)) is None
    result = backend_get(backend="local", model=str(policy_dir)).generate(
        CHAT, SamplingParams(max_new_tokens=2, temperature=0)
    )
    assert not result.model.startswith("ctranslate2:")


@pytest.mark.slow
def test_smollm2_on_ctranslate2_is_coherent_and_stops_at_eos():
    from modelserve.generation.model_files import default_model_dir

    folder = default_model_dir()
    backend = backend_get(backend="local", model="default")
    pieces: list[str] = []
    rows = [
        BatchRow(
            [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
            SamplingParams(temperature=0, max_new_tokens=60),
            on_text=pieces.append,
        ),
        BatchRow(
            [{"role": "user", "content": "Name a colour of the sky."}],
            SamplingParams(temperature=0.5, max_new_tokens=60, seed=1),
        ),
    ]
    first, second = backend.generate_batch(rows)
    assert first.model == f"ctranslate2:{folder.resolve() / 'ct2-int8'}"
    text = first.text.strip()
    assert "paris" in text.lower(), text
    assert first.finish_reason == "stop" and first.n_tokens < 60  # ended at EOS
    assert len(pieces) > 1 and "".join(pieces) == first.text
    assert len(re.findall(r"[A-Za-z]+", second.text)) >= 1
