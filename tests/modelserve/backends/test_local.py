"""The local transformers backend on a tiny random model (the real one: test_local_real)."""

import shutil

import pytest

from modelserve.backends import BackendConfigError, SamplingParams, backend_get
from modelserve.backends import local as local_backend

CHAT = [{"role": "user", "content": "Say something."}]


@pytest.fixture(autouse=True)
def _fresh_cache():
    local_backend.clear_cache()
    yield
    local_backend.clear_cache()


def test_generates_and_streams_the_same_text(tiny_model_dir):
    backend = backend_get(backend="local", model=str(tiny_model_dir))
    pieces: list[str] = []
    result = backend.generate(
        CHAT, SamplingParams(max_new_tokens=12, seed=7, temperature=1.0), on_text=pieces.append
    )
    assert result.n_tokens is not None and 1 <= result.n_tokens <= 12
    assert "".join(pieces) == result.text
    assert result.first_token_ms is None or result.first_token_ms <= result.latency_ms


def test_same_seed_same_sample_different_seed_differs(tiny_model_dir):
    backend = backend_get(backend="local", model=str(tiny_model_dir))
    params = SamplingParams(max_new_tokens=16, temperature=1.5, top_p=1.0)
    first = backend.generate(CHAT, SamplingParams(**{**params.__dict__, "seed": 1}))
    again = backend.generate(CHAT, SamplingParams(**{**params.__dict__, "seed": 1}))
    other = [
        backend.generate(CHAT, SamplingParams(**{**params.__dict__, "seed": s})).text
        for s in (2, 3, 4)
    ]
    assert first.text == again.text
    assert any(text != first.text for text in other)


def test_model_loaded_once_per_folder(tiny_model_dir, tmp_path, monkeypatch):
    """A worker pays the load once; a refit's new folder is a second cache entry."""
    from modelserve import model_files

    loads: list[str] = []
    real = model_files.load_causal_lm
    monkeypatch.setattr(
        model_files, "load_causal_lm", lambda path, **kw: loads.append(str(path)) or real(path)
    )
    policy_dir = tmp_path / "policy-v2"
    shutil.copytree(tiny_model_dir, policy_dir)
    for model in (str(tiny_model_dir), str(tiny_model_dir), str(policy_dir), str(policy_dir)):
        backend_get(backend="local", model=model).generate(
            CHAT, SamplingParams(max_new_tokens=2, seed=0)
        )
    assert len(loads) == 2
    assert local_backend.cached_folders() == sorted(
        [str(tiny_model_dir.resolve()), str(policy_dir.resolve())]
    )


def test_greedy_and_max_tokens(tiny_model_dir):
    backend = backend_get(backend="local", model=str(tiny_model_dir))
    a = backend.generate(CHAT, SamplingParams(max_new_tokens=5, temperature=0))
    b = backend.generate(CHAT, SamplingParams(max_new_tokens=5, temperature=0))
    assert a.text == b.text
    assert a.n_tokens is not None and a.n_tokens <= 5


def test_missing_folder_is_a_config_error(tmp_path):
    backend = backend_get(backend="local", model=str(tmp_path / "nowhere"))
    with pytest.raises(BackendConfigError, match=r"config\.json"):
        backend.generate(CHAT, SamplingParams(max_new_tokens=2))
