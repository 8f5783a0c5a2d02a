"""Fixtures for the learning-loop tests: a tiny random policy and quick label records."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    """The default model's folder (converted from the packaged GGUF once per machine)."""
    from django.conf import settings

    from modelserve.model_files import default_model_dir

    return default_model_dir(Path(settings.CHORUS_MODEL_DIR))


@pytest.fixture(scope="session")
def tiny_policy_dir(tmp_path_factory, tokenizer_dir) -> Path:
    """A randomly initialised 2-layer Llama with SmolLM2's tokenizer, saved in HF format."""
    from transformers import AutoTokenizer

    from tests.tiny_models import tiny_llama

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = tiny_llama(vocab_size=len(tok), eos_id=tok.eos_token_id, bos_id=tok.bos_token_id)
    folder = tmp_path_factory.mktemp("tiny-policy")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
