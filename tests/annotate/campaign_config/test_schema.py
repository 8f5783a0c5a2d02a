"""The typed campaign config: every key typed and documented, refusals name the key,
and the schema agrees with the code that reads the keys."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from annotate.campaign_config import (
    SECTIONS,
    CampaignConfigError,
    owners,
    section_values,
    validate_campaign_config,
)
from annotate.campaign_config.conversation import Conversation
from annotate.campaign_config.docs import END, START, config_reference_markdown
from annotate.campaign_config.generation import Generation, SamplingOverrides
from annotate.campaign_config.privacy import Privacy
from annotate.campaign_config.refit import DPOOverrides, Gates, Refit, RewardOverrides
from annotate.campaign_config.repair import config_repair, repair_report
from annotate.exports.privacy import DEFAULT_K, DEFAULT_PROFILE_FIELDS
from annotate.services.conversation import DEFAULT_ATTRIBUTES
from modelserve.generation.backends.base import PARAM_NAMES
from modelserve.generation.requests import DEFAULT_SYSTEM_PROMPTS, DEFAULT_TEMPERATURES
from modelserve.learning.scheduling import DEFAULTS as REFIT_DEFAULTS
from modelserve.training.dpo import DPOConfig
from modelserve.training.reward import RewardConfig

README = Path(__file__).resolve().parents[3] / "README.md"


def _errors(config: object) -> dict[str, str]:
    with pytest.raises(CampaignConfigError) as info:
        validate_campaign_config(config)
    return info.value.errors


def test_the_issues_two_examples_are_refused_naming_the_key():
    assert _errors({"quotass": {"fields": ["age_band"]}}) == {
        "quotass": "Unknown key; did you mean 'quotas'?"
    }
    assert list(_errors({"gold_rate": 5})) == ["gold_rate"]
    assert "less than or equal to 1" in _errors({"gold_rate": 5})["gold_rate"]


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"min_seconds": "3"}, "min_seconds"),  # strict: JSON has types
        ({"max_gold_failures": 1.5}, "max_gold_failures"),
        ({"listed": "no"}, "listed"),
        ({"conversation_models": 9}, "conversation_models"),
        ({"conversation_min_turns": 4, "conversation_max_turns": 3}, "conversation_max_turns"),
        ({"completion_url": "javascript:alert(1)"}, "completion_url"),
        ({"participant_param": "PID&x=1"}, "participant_param"),
        ({"consent": {"text": ""}}, "consent.text"),
        ({"eligibility": {"age_band": []}}, "eligibility.age_band"),
        ({"quotas": {"fields": ["nope"], "cells": {}}}, "quotas.fields[0]"),
        ({"quotas": {"fields": ["age_band"], "cells": {"25-34": -1}}}, "quotas.cells.25-34"),
        ({"quotas": {"fields": ["age_band", "gender"], "cells": {"x": 1}}}, "quotas.cells.x"),
        ({"diversity": ["endpoint"]}, "diversity[0]"),
        ({"generation_params": {"max_tokens": 5}}, "generation_params.max_tokens"),
        ({"generation_params": {"top_p": 0}}, "generation_params.top_p"),
        ({"analytics": {"n_boot": 5000}}, "analytics.n_boot"),
        ({"privacy": {"k_anonymity": 0}}, "privacy.k_anonymity"),
        ({"privacy": {"profile_fields": ["email"]}}, "privacy.profile_fields[0]"),
        ({"refit": {"every_minutes": 0}}, "refit.every_minutes"),
        ({"refit": {"kinds": ["sft"]}}, "refit.kinds[0]"),
        ({"refit": {"gates": {"dpo_max_kll": 1}}}, "refit.gates.dpo_max_kll"),
        ({"refit": {"dpo": {"betaa": 0.1}}}, "refit.dpo.betaa"),
        ({"refit": {"reward": {"finetune": "sometimes"}}}, "refit.reward.finetune"),
        ({"refit": None}, "refit"),
        ({"gold_rate": float("nan")}, "gold_rate"),
        ({"completion_code": "a\x00b"}, "completion_code"),
    ],
)
def test_each_refusal_names_its_key(config, path):
    errors = _errors(config)
    assert path in errors, errors


def test_a_full_valid_config_is_kept_and_normalised():
    config = {
        "gold_rate": 0.2,
        "min_seconds": 3,
        "quotas": {"fields": ["residence_country", "age_band"], "cells": {"GB|25-34": 10}},
        "eligibility": {"residence_country": ["GB", "US"]},
        "consent": {"version": "v2", "text": "Please agree."},
        "conversation_models": 3,
        "generation_params": {"max_new_tokens": 64, "stop": ["\n\n"]},
        "privacy": {"profile_fields": ["age_band"], "k_anonymity": 3},
        "refit": {"enabled": True, "every_minutes": 1, "gates": {"dpo_max_kl": None}},
    }
    clean = validate_campaign_config(config)
    assert list(clean) == list(config)  # same keys, same order, nothing filled in
    assert clean["min_seconds"] == 3.0 and isinstance(clean["min_seconds"], float)
    assert clean["refit"] == {"enabled": True, "every_minutes": 1, "gates": {"dpo_max_kl": None}}
    assert validate_campaign_config(clean) == clean


def test_every_key_is_owned_once_and_documented():
    keys = owners()
    assert {"gold_rate", "quotas", "refit", "privacy", "analytics", "completion_code"} <= set(keys)
    for section in SECTIONS:
        assert section.title and section.read_by
        for name, field in section.model_fields.items():
            assert field.description, f"{section.__name__}.{name} has no description"


def test_the_code_reads_no_key_the_schema_lacks():
    """Every key read with config.get(...)/config[...] in the code is in the schema."""
    root = Path(__file__).resolve().parents[3]
    pattern = re.compile(
        r"config(?:\s*or\s*\{\})?\)?\.get\(\s*\"([a-z_]+)\"|config\[\"([a-z_]+)\"\]"
    )
    read: set[str] = set()
    for package in ("annotate", "modelserve"):
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts or "campaign_config" in path.parts:
                continue
            for match in pattern.finditer(path.read_text()):
                read.add(match.group(1) or match.group(2))
    not_campaign = {  # .get on other objects named config (training runs, HF configs)
        "reward",
        "dpo",
        "refit",
        "data_cutoff",
        "eos_token_id",
        "max_position_embeddings",
        "group_by",
        "include_reference_labels",
        "val_fraction",
        "split_seed",
        "gates",
        "active_sampling",
        "kinds",
        "min_new_labels",
        "enabled",
        "every_minutes",
    }
    missing = read - set(owners()) - not_campaign
    assert not missing, f"keys read but not in the schema: {sorted(missing)}"


def test_defaults_agree_with_the_readers():
    refit = Refit()
    assert refit.model_dump(exclude={"reward", "dpo", "gates"}) == {
        k: v for k, v in REFIT_DEFAULTS.items() if k not in ("reward", "dpo", "gates")
    }
    assert Gates().model_dump() == REFIT_DEFAULTS["gates"]
    assert set(RewardOverrides.model_fields) == {f.name for f in dataclasses.fields(RewardConfig)}
    assert set(DPOOverrides.model_fields) == {f.name for f in dataclasses.fields(DPOConfig)}
    assert set(SamplingOverrides.model_fields) == set(PARAM_NAMES)
    generation = Generation()
    assert generation.diversity_temperatures == DEFAULT_TEMPERATURES
    assert generation.diversity_system_prompts == DEFAULT_SYSTEM_PROMPTS
    assert Conversation().conversation_attributes == DEFAULT_ATTRIBUTES
    assert Privacy().profile_fields == list(DEFAULT_PROFILE_FIELDS)
    assert Privacy().k_anonymity == DEFAULT_K


def test_readme_table_is_generated_from_the_schema():
    text = README.read_text()
    assert START in text and END in text, "README lacks the campaign-config markers"
    block = text[text.index(START) : text.index(END) + len(END)]
    assert block == config_reference_markdown(), (
        "README's campaign config table is stale: replace it with "
        "`python manage.py campaign_config --docs`"
    )


def test_section_values_are_typed_with_defaults():
    quality = section_values({"gold_rate": 0.5}, SECTIONS[0])
    assert quality.gold_rate == 0.5 and quality.min_seconds == 0  # type: ignore[attr-defined]
    assert section_values({"refit": {"enabled": True}}, Refit).every_minutes == 60  # type: ignore[attr-defined]


def test_repair_fixes_what_is_safe_and_reports_the_rest():
    fixed = config_repair({"min_seconds": "3", "refit": None, "gold_rate": 0.1})
    assert fixed.changed and not fixed.problems
    assert fixed.config == {"min_seconds": 3.0, "gold_rate": 0.1}
    broken = config_repair({"quotass": 1, "gold_rate": 5})
    assert not broken.changed and set(broken.problems) == {"quotass", "gold_rate"}
    assert broken.config == {"quotass": 1, "gold_rate": 5}  # left as it is
    line = repair_report("demo", broken)
    assert line and "demo" in line and "quotass" in line and "gold_rate" in line
    assert repair_report("ok", config_repair({"gold_rate": 0.1})) is None
