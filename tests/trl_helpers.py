"""One step of TRL's DPOTrainer on an exported preference file, the way a researcher
would run it: a tiny Llama with SmolLM2's tokenizer (the file, not the model, is what
these tests check)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


def dpo_trainer_one_step(
    dataset: Any, tokenizer: Any, out_dir: Path, *, batch_size: int = 4
) -> tuple[Any, Any]:
    """Train one step; return (TRL's train result, the trained model)."""
    from trl import DPOConfig, DPOTrainer

    from tests.tiny_models import tiny_llama

    model = tiny_llama(
        vocab_size=len(tokenizer), eos_id=tokenizer.eos_token_id, bos_id=tokenizer.bos_token_id
    )
    args = DPOConfig(
        output_dir=str(out_dir),
        max_steps=1,
        per_device_train_batch_size=batch_size,
        learning_rate=1e-2,
        max_length=128,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        dataset_num_proc=None,
        bf16=False,
    )
    # An in-memory model has no path TRL could rebuild the reference from: pass a copy.
    trainer = DPOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    return trainer.train(), model
