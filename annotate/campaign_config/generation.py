"""Pre-generation and sampling (top level), read by modelserve/generation/pool.py and
modelserve/generation/requests.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import Part, Section

Strategy = Literal["endpoints", "temperatures", "system_prompts"]
DEFAULT_STRATEGIES: tuple[Strategy, ...] = ("endpoints",)


class SamplingOverrides(Part):
    """Sampling overrides for the whole campaign, applied over each endpoint's params
    (the keys of modelserve.generation.backends.SamplingParams)."""

    temperature: float | None = Field(None, ge=0, le=5, description="0-5.")
    top_p: float | None = Field(None, gt=0, le=1, description="(0, 1].")
    max_new_tokens: int | None = Field(None, ge=1, le=8192, description="1-8192 tokens.")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Fixed sampling seed.")
    system_prompt: str | None = Field(None, max_length=4000, description="System message.")
    timeout_s: float | None = Field(None, gt=0, le=3600, description="Per request, seconds.")
    stop: str | list[Annotated[str, StringConstraints(max_length=200)]] | None = Field(
        None, description="Stop string(s)."
    )


class Generation(Section):
    title = "Pre-generation and sampling"
    read_by = "modelserve/generation/pool.py, modelserve/generation/requests.py"
    admin_keys = ("pregen_pool_size", "items_per_prompt", "candidates_per_prompt")

    pregen_pool_size: int = Field(
        10,
        ge=0,
        le=10_000,
        description="Open items of non-live task types kept ready by pre-generation. 0: off.",
    )
    items_per_prompt: int = Field(
        1, ge=1, le=1000, description="A prompt feeds new items until it has this many."
    )
    candidates_per_prompt: int = Field(
        2,
        ge=1,
        le=16,
        description="Responses generated per pre-generated item (clamped to the task type).",
    )
    diversity: list[Strategy] = Field(
        default_factory=lambda: list(DEFAULT_STRATEGIES),
        max_length=3,
        description="How the K candidates differ: endpoints, temperatures, system_prompts.",
    )
    diversity_temperatures: list[Annotated[float, Field(ge=0, le=5)]] = Field(
        default_factory=lambda: [0.4, 0.8, 1.1, 0.6],
        min_length=1,
        max_length=16,
        description="Temperatures cycled through by the temperatures strategy.",
    )
    diversity_system_prompts: list[Annotated[str, StringConstraints(max_length=4000)]] = Field(
        default_factory=lambda: [
            "You are a helpful assistant. Answer clearly and concisely.",
            "You are a friendly assistant. Explain your reasoning step by step.",
            "You are a careful assistant. Be precise and mention any caveats.",
            "You are a creative assistant. Give a vivid, engaging answer.",
        ],
        max_length=16,
        description="System prompts cycled through by the system_prompts strategy.",
    )
    generation_params: SamplingOverrides = Field(
        SamplingOverrides(),
        description='Sampling overrides, e.g. {"max_new_tokens": 128}.',
    )
