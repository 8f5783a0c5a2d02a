import json

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Prompt
from modelserve.generation.models import GenerationRequest
from tests.factories import CampaignFactory, ModelEndpointFactory

pytestmark = pytest.mark.django_db


def test_adds_prompts_and_tops_up(tmp_path, settings):
    settings.CHORUS_GENERATION_BACKENDS = {
        "fake": "modelserve.generation.backends.fake.FakeBackend"
    }
    campaign = CampaignFactory(config={"pregen_pool_size": 1}, task_mix={"pairwise": 1})
    ModelEndpointFactory(pool=[campaign])
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"prompt": "Why is the sea salty?"})
        + "\n\n"
        + json.dumps({"messages": [{"role": "user", "content": "Name a colour."}]})
        + "\n"
    )
    call_command("pool_prompts", campaign.slug, str(path), "--topup")
    assert sorted(Prompt.objects.filter(campaign=campaign).values_list("text", flat=True)) == [
        "Name a colour.",
        "Why is the sea salty?",
    ]
    assert GenerationRequest.objects.filter(campaign=campaign).count() == 2  # one batch of 2


def test_bad_input_is_a_clear_error(tmp_path):
    campaign = CampaignFactory()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nope": 1}\n')
    with pytest.raises(CommandError, match="line 1: give 'prompt' or 'messages'"):
        call_command("pool_prompts", campaign.slug, str(bad))
    with pytest.raises(CommandError, match="no campaign"):
        call_command("pool_prompts", "missing-slug", str(bad))
    assert not Prompt.objects.filter(campaign=campaign).exists()
