"""Fixtures of the modelserve tests: tiny random models (a byte-level one for generation,
one with SmolLM2's tokenizer for training), the default model's folder and the scripted
fake backend."""

from __future__ import annotations

from pathlib import Path

import pytest

FAKE_BACKENDS = {"fake": "modelserve.generation.backends.fake.FakeBackend"}
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_model(folder: Path) -> Path:
    """A randomly initialised 2-layer Llama (hidden 32) with a byte-level tokenizer.

    Same architecture family and chat format as SmolLM2, so the local backend runs the
    real code path (chat template, sampling, streaming, caching) in milliseconds.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from tests.tiny_models import tiny_llama

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        vocab[token] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    model = tiny_llama(
        vocab_size=len(vocab),
        eos_id=vocab["<|im_end|>"],
        bos_id=vocab["<|im_start|>"],
        pad_id=vocab["<|im_end|>"],
    )
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def fake_backends(settings):  # type: ignore[no-untyped-def]
    """Register the scripted backend (endpoints with backend="fake")."""
    from modelserve.generation.backends.fake import FakeBackend

    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS
    FakeBackend.calls = 0
    FakeBackend.batch_calls = 0
    return FakeBackend


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    """The default model's folder (converted from the packaged GGUF once per machine)."""
    from django.conf import settings

    from modelserve.generation.model_files import default_model_dir

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
