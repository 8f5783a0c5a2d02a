"""A trl-preference export is a dataset TRL and Hugging Face ``datasets`` read as it is."""

from __future__ import annotations

from pathlib import Path

import pytest


def _export_to(world, tmp_path: Path, **params) -> Path:
    response = world.client("res_a").get(
        "/api/v1/campaigns/alpha/export", {"shape": "trl-preference", "format": "jsonl", **params}
    )
    assert response.status_code == 200
    path = tmp_path / "prefs.jsonl"
    path.write_bytes(b"".join(response.streaming_content))
    return path


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    """SmolLM2's folder (converted from the packaged GGUF once per machine, then cached)."""
    from django.conf import settings

    from modelserve.generation.model_files import default_model_dir

    return default_model_dir(Path(settings.CHORUS_MODEL_DIR))


def test_datasets_loads_the_jsonl_with_dpo_columns(world, tmp_path):
    import datasets

    path = _export_to(world, tmp_path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train")
    assert ds.num_rows == 12
    assert {"prompt", "chosen", "rejected", "annotator_id", "margin", "source"} <= set(
        ds.column_names
    )
    assert ds.features["prompt"].dtype == "string"
    assert set(ds["source"]) == {"pairwise", "ranking", "rating", "edit"}


@pytest.mark.slow
def test_dpo_trainer_takes_one_step_on_the_export(world, tmp_path, tokenizer_dir):
    import datasets
    import torch
    from transformers import AutoTokenizer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    from tests.tiny_models import tiny_llama
    from tests.trl_helpers import dpo_trainer_one_step

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    # The conversational variant: TRL recognises it and renders it with the chat template.
    conv = datasets.load_dataset(
        "json", data_files=str(_export_to(world, tmp_path, conversational=1)), split="train"
    )
    example = conv[0]
    assert is_conversational(example)
    rendered = maybe_apply_chat_template(example, tok)
    assert example["prompt"][-1]["content"] in rendered["prompt"]
    assert example["chosen"][0]["content"] in rendered["chosen"]

    path = _export_to(world, tmp_path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train")
    # tiny_llama is seeded: a fresh one holds the weights training started from.
    before = list(
        tiny_llama(
            vocab_size=len(tok), eos_id=tok.eos_token_id, bos_id=tok.bos_token_id
        ).parameters()
    )
    result, model = dpo_trainer_one_step(ds, tok, tmp_path / "out", batch_size=4)
    assert result.global_step == 1
    assert torch.isfinite(torch.tensor(result.training_loss))
    assert any(
        not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True)
    )
