"""CTranslate2 copies of Hugging Face model folders, converted once and cached beside them.

``<hf folder>/ct2-int8/`` (CPU) or ``ct2-float16/`` (CUDA) lives inside the folder it was
made from, so a policy version's CTranslate2 copy is versioned with that policy and goes
away with it. Conversion (about 5 s for SmolLM2) runs under an inter-process file lock
(``fcntl.flock``) so several workers starting at once convert once; it writes a
temporary folder and renames it into place, so a reader never sees half-written weights.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

MODEL_FILE = "model.bin"


class Ct2ConversionError(RuntimeError):
    """The folder could not be converted (an unsupported architecture, a broken file)."""


def ct2_dir(hf_dir: Path | str, *, quantization: str = "int8") -> Path:
    """The CTranslate2 copy of ``hf_dir`` for ``quantization``, converting on first use."""
    hf_dir = Path(hf_dir)
    target = hf_dir / f"ct2-{quantization}"
    if (target / MODEL_FILE).exists():
        return target
    lock_path = hf_dir / f".ct2-{quantization}.lock"
    try:
        lock = open(lock_path, "a+")  # noqa: SIM115 - held across the conversion
    except OSError as exc:
        raise Ct2ConversionError(f"cannot lock {lock_path}: {exc}") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (target / MODEL_FILE).exists():
            return target  # another process converted it while we waited
        tmp = Path(tempfile.mkdtemp(prefix=".ct2-convert-", dir=hf_dir))
        try:
            from ctranslate2.converters import TransformersConverter  # heavy, optional

            logger.info("Converting %s to CTranslate2 (%s)", hf_dir, quantization)
            try:
                TransformersConverter(str(hf_dir)).convert(
                    str(tmp), quantization=quantization, force=True
                )
            except Exception as exc:  # the converter raises many kinds of errors
                raise Ct2ConversionError(f"cannot convert {hf_dir}: {exc}") from exc
            if target.exists():  # a leftover without model.bin (a crash mid-copy)
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
