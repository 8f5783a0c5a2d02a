"""The one tiny randomly initialised Llama the suite trains and serves (2 layers, width 32).

Same architecture family as SmolLM2, so every code path a real policy takes is exercised,
at a size that trains in milliseconds on CPU.
"""

from __future__ import annotations

from typing import Any


def tiny_llama(
    *, vocab_size: int, eos_id: int, bos_id: int, pad_id: int | None = None, seed: int = 0
) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    return LlamaForCausalLM(config)
