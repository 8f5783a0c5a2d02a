"""The local transformers backend on a tiny random model (the real one: test_local_real)."""

import shutil

import pytest

from modelserve.generation.backends import BackendConfigError, SamplingParams, backend_get
from modelserve.generation.backends import local as local_backend

CHAT = [{"role": "user", "content": "Say something."}]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.CHORUS_LOCAL_ENGINE = "transformers"  # this file tests the torch engine
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
    loads: list[str] = []
    real = local_backend.load_causal_lm
    monkeypatch.setattr(
        local_backend, "load_causal_lm", lambda path, **kw: loads.append(str(path)) or real(path)
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


def test_a_batch_keeps_each_rows_own_sampling(tiny_model_dir):
    """One batched call; a greedy row equals the same row alone, even beside longer prompts."""
    from modelserve.generation.backends import BatchRow

    backend = backend_get(backend="local", model=str(tiny_model_dir))
    long_chat = [{"role": "user", "content": "A much longer message, to make padding. " * 3}]
    greedy = SamplingParams(max_new_tokens=8, temperature=0)
    alone = backend.generate(CHAT, greedy)
    rows = [
        BatchRow(CHAT, greedy),
        BatchRow(long_chat, SamplingParams(max_new_tokens=4, temperature=1.3, seed=5)),
        BatchRow(CHAT, SamplingParams(max_new_tokens=12, temperature=0.7, top_p=0.5, seed=9)),
    ]
    streamed: list[str] = []
    rows[2].on_text = streamed.append
    results = backend.generate_batch(rows)
    assert results[0].text == alone.text
    assert results[1].n_tokens <= 4 and results[2].n_tokens <= 12
    assert "".join(streamed) == results[2].text
    assert all(r.finish_reason in ("stop", "length") for r in results)


def test_budget_reached_is_length_and_a_long_prompt_is_cut_from_the_left(tiny_model_dir):
    backend = backend_get(backend="local", model=str(tiny_model_dir))
    result = backend.generate(CHAT, SamplingParams(max_new_tokens=3, temperature=0))
    assert result.n_tokens == 3 and result.finish_reason == "length"
    huge = [{"role": "user", "content": "word " * 400}]  # > 512 byte-level tokens
    cut = backend.generate(huge, SamplingParams(max_new_tokens=3, temperature=0))
    assert cut.text and "left out" in cut.notice and "512" in cut.notice
    assert "left out" not in result.notice


def test_a_row_that_ends_early_reports_its_whole_text_at_once(tiny_model_dir):
    from modelserve.generation.backends import BatchRow

    backend = backend_get(backend="local", model=str(tiny_model_dir))
    ended: list[tuple[int, str]] = []
    rows = [
        BatchRow(CHAT, SamplingParams(max_new_tokens=n, temperature=0), on_end=None)
        for n in (2, 10)
    ]
    for n, row in enumerate(rows):
        row.on_end = lambda text, n=n: ended.append((n, text))
    results = backend.generate_batch(rows)
    assert [n for n, _ in ended] == [0, 1]  # the short row ended first, mid-batch
    assert [text for _, text in ended] == [r.text for r in results]
