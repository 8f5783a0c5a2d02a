"""Live generation answers in the item's language: the system prompt carries the
language's instruction, from the defaults or the campaign's table."""

from __future__ import annotations

import pytest

from annotate.models import Item, Response
from annotate.services.conversation import conversation_start
from modelserve.generation.batch import generation_run
from modelserve.generation.languages import (
    DEFAULT_LANGUAGE_SYSTEM_PROMPTS,
    language_instruction,
    system_prompt_for_language,
)
from modelserve.generation.models import GenerationRequest
from modelserve.generation.pool import pool_topup, prompt_add
from modelserve.generation.requests import candidate_plan
from tests.conversation_helpers import (
    conversation_campaign,
    lease_conversation,
    run_pending_generations,
)
from tests.factories import AnnotatorFactory, CampaignFactory, ModelEndpointFactory


def test_instruction_table_defaults_fallbacks_and_overrides():
    for code in ("en", "fr", "es", "de", "ar", "zh-hans"):
        assert language_instruction(code) == DEFAULT_LANGUAGE_SYSTEM_PROMPTS[code]
    assert language_instruction("fr-ca") == DEFAULT_LANGUAGE_SYSTEM_PROMPTS["fr"]
    assert language_instruction("und") == language_instruction("xx") == ""
    assert language_instruction("it", {"it": "Rispondi in italiano."}) == "Rispondi in italiano."
    assert language_instruction("fr", {"fr": ""}) == ""  # turned off by the campaign
    joined = system_prompt_for_language("Be brief.", "de")
    assert joined == "Be brief.\n\n" + DEFAULT_LANGUAGE_SYSTEM_PROMPTS["de"]
    assert system_prompt_for_language("Be brief.", "und") == "Be brief."


@pytest.mark.django_db
def test_candidates_keep_their_own_system_prompt_and_add_the_language():
    campaign = CampaignFactory(
        config={"diversity": ["system_prompts"], "language_system_prompts": {"fr": "En français."}}
    )
    endpoint = ModelEndpointFactory(pool=[campaign])
    plan = candidate_plan(campaign=campaign, endpoints=[endpoint], k=2, language="fr")
    for _endpoint, params in plan:
        assert params["system_prompt"].endswith("\n\nEn français.")
        assert params["system_prompt"] != "En français."  # the diversity prompt stays first
    plain = candidate_plan(campaign=campaign, endpoints=[endpoint], k=1, language="und")
    assert "français" not in plain[0][1]["system_prompt"]


@pytest.mark.django_db
def test_pregenerated_french_item_is_asked_in_french(fake_backends):
    campaign = CampaignFactory(config={"pregen_pool_size": 1}, task_mix={"pairwise": 1})
    ModelEndpointFactory(pool=[campaign])
    prompt = prompt_add(campaign=campaign, messages="Pourquoi le ciel est-il bleu ?", language="fr")
    assert pool_topup(campaign_id=campaign.pk) == 1
    for pk in GenerationRequest.objects.values_list("pk", flat=True):
        generation_run(request_id=pk)
    # What the model was sent: the French instruction as the system message.
    assert fake_backends.last_messages[0] == {
        "role": "system",
        "content": DEFAULT_LANGUAGE_SYSTEM_PROMPTS["fr"],
    }
    item = Item.objects.get(campaign=campaign)
    assert item.language == "fr"
    assert set(Response.objects.filter(prompt=prompt).values_list("language", flat=True)) == {"fr"}
    with pytest.raises(ValueError, match="language tag"):
        prompt_add(campaign=campaign, messages="x", language="not a tag")


@pytest.mark.slow
def test_smollm2_is_sent_the_french_instruction(settings, monkeypatch):
    """The real default model, a few tokens: the request carries the language's system
    prompt and the model answers with text (a 135M model's French is not graded)."""
    settings.CHORUS_LOCAL_ENGINE = "transformers"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from modelserve.generation.backends import SamplingParams, backend_get

    params = SamplingParams.from_mapping(
        {
            "temperature": 0,
            "max_new_tokens": 12,
            "system_prompt": system_prompt_for_language("", "fr"),
        }
    )
    assert params.system_prompt == DEFAULT_LANGUAGE_SYSTEM_PROMPTS["fr"]
    backend = backend_get(backend="local", model="default")
    result = backend.generate([{"role": "user", "content": "Bonjour ! Comment vas-tu ?"}], params)
    assert result.text.strip()
    assert result.n_tokens is None or result.n_tokens <= 12


@pytest.mark.django_db
def test_a_live_conversation_in_arabic_is_asked_in_arabic(fake_backends):
    campaign, _endpoints = conversation_campaign(k=2)
    Item.objects.filter(campaign=campaign).update(language="ar")
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    conversation = conversation_start(
        assignment_id=assignment.pk, annotator=annotator, text="كيف يعمل المد والجزر؟"
    )
    assert conversation.metadata["language"] == "ar"
    assert run_pending_generations() == 2
    assert fake_backends.last_messages[0]["content"] == DEFAULT_LANGUAGE_SYSTEM_PROMPTS["ar"]
    prompt_languages = set(
        GenerationRequest.objects.filter(campaign=campaign).values_list(
            "prompt__language", flat=True
        )
    )
    assert prompt_languages == {"ar"}
    assert set(
        Response.objects.filter(prompt__campaign=campaign).values_list("language", flat=True)
    ) == {"ar"}
