"""Scheduled refits (``config["refit"]``), read by modelserve/learning/scheduling.py and
modelserve/learning/refits.py. ``reward`` and ``dpo`` override the fields of
modelserve.training's RewardConfig and DPOConfig (tests check the names agree)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import CategoryField, Part, Section

Kind = Literal["reward", "dpo"]
KINDS: tuple[Kind, ...] = ("reward", "dpo")


class RewardOverrides(Part):
    encoder: str | None = Field(None, max_length=500, description='"minilm" or a HF folder.')
    max_length: int | None = Field(None, ge=8, le=4096, description="Encoder tokens.")
    hidden: int | None = Field(None, ge=0, le=8192, description="0: a linear head.")
    epochs: int | None = Field(None, ge=1, le=10_000, description="Head epochs.")
    batch_size: int | None = Field(None, ge=1, le=1_000_000, description="Pairs per step.")
    lr: float | None = Field(None, gt=0, le=10, description="Learning rate.")
    weight_decay: float | None = Field(None, ge=0, le=10, description="Weight decay.")
    margin_weight: float | None = Field(None, ge=0, le=100, description="Strength as margin.")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Seed.")
    per_group_heads: bool | None = Field(None, description="One head per profile group.")
    min_group_pairs: int | None = Field(None, ge=1, le=1_000_000, description="Per head.")
    encode_batch_size: int | None = Field(None, ge=1, le=4096, description="Encoder batch.")
    length_feature: bool | None = Field(None, description="Append log(response length).")
    finetune: Literal["off", "gpu", "always"] | None = Field(None, description="Encoder FT.")
    finetune_lr: float | None = Field(None, gt=0, le=1, description="Encoder FT rate.")
    finetune_epochs: int | None = Field(None, ge=1, le=100, description="Encoder FT epochs.")
    finetune_batch_size: int | None = Field(None, ge=1, le=4096, description="Encoder FT batch.")


class DPOOverrides(Part):
    loss: Literal["dpo", "ipo"] | None = Field(None, description="dpo or ipo.")
    beta: float | None = Field(None, gt=0, le=100, description="KL strength.")
    lr: float | None = Field(None, gt=0, le=1, description="Learning rate.")
    epochs: int | None = Field(None, ge=1, le=1000, description="Epochs.")
    max_steps: int | None = Field(None, ge=0, le=10_000_000, description="0: no cap.")
    batch_size: int | None = Field(None, ge=1, le=4096, description="Pairs per step.")
    max_prompt_tokens: int | None = Field(None, ge=1, le=32_768, description="Prompt tokens.")
    max_response_tokens: int | None = Field(None, ge=1, le=32_768, description="Reply tokens.")
    margin_weight: float | None = Field(None, ge=0, le=100, description="ODPO margin.")
    label_smoothing: float | None = Field(None, ge=0, lt=0.5, description="cDPO smoothing.")
    listwise_weight: float | None = Field(None, ge=0, le=100, description="Plackett-Luce.")
    lora_rank: int | None = Field(None, ge=0, le=1024, description="0: full fine-tune.")
    lora_alpha: float | None = Field(None, gt=0, le=4096, description="LoRA alpha.")
    grad_clip: float | None = Field(None, ge=0, le=1000, description="0: no clipping.")
    weight_decay: float | None = Field(None, ge=0, le=10, description="Weight decay.")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Seed.")
    eval_prompts: int | None = Field(None, ge=0, le=10_000, description="Eval prompts.")
    eval_max_new_tokens: int | None = Field(None, ge=1, le=8192, description="Eval tokens.")
    device: str | None = Field(
        None, pattern=r"^(auto|cpu|cuda(:[0-9]{1,2})?)$", description="auto: CUDA if any."
    )
    precision: Literal["auto", "bf16", "fp32"] | None = Field(
        None, description="auto: bf16 with fp32 master weights on a GPU, fp32 on CPU."
    )


class Gates(Part):
    reward_min_val_accuracy: float = Field(
        0.5, ge=0, le=1, description="Least validation accuracy a reward model needs."
    )
    reward_max_accuracy_drop: float = Field(
        0.0, ge=0, le=1, description="Largest drop against the serving reward model."
    )
    dpo_max_ranking_accuracy_drop: float = Field(
        0.02, ge=0, le=1, description="Largest drop against the reference policy."
    )
    dpo_max_kl: float | None = Field(None, ge=0, description="Largest KL; null: no limit.")


class Refit(Section):
    key = "refit"
    title = "Scheduled refits"
    read_by = "modelserve/learning/scheduling.py"
    # No typed fields on the campaign page: the "Campaign servings" admin page edits the
    # schedule (modelserve/learning/admin.py), through this same schema.

    enabled: bool = Field(False, description="Keep a beat schedule for the campaign.")
    every_minutes: int = Field(
        60, ge=1, le=525_600, description="How often beat checks whether a refit is due."
    )
    min_new_labels: int = Field(
        50,
        ge=1,
        le=100_000_000,
        description="A kind is refit only when this many trainable labels arrived since its "
        "last run.",
    )
    kinds: list[Kind] = Field(
        default_factory=lambda: list(KINDS), description="What is refit, in this order."
    )
    group_by: CategoryField = Field(
        "age_band", description="Profile field of the per-group reward accuracy."
    )
    val_fraction: float = Field(0.1, ge=0, lt=1, description="Held-out share (split by prompt).")
    split_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the split.")
    include_reference_labels: bool = Field(
        False, description="Also train on imported reference preferences (e.g. HH-RLHF's)."
    )
    # Frozen models: one shared default instance is safe.
    reward: RewardOverrides = Field(RewardOverrides(), description="RewardConfig overrides.")
    dpo: DPOOverrides = Field(DPOOverrides(), description="DPOConfig overrides.")
    gates: Gates = Field(Gates(), description="Promotion gates.")
    keep_previous_policies: bool = Field(
        False, description="Leave earlier policies in the pool when a new one is promoted."
    )
    active_sampling: bool = Field(
        False,
        description="After a reward model is promoted, prioritise uncertain pairwise items.",
    )
    max_run_minutes: int = Field(
        360,
        ge=1,
        le=100_000,
        description="A run 'running' longer than this is presumed dead and marked failed.",
    )
