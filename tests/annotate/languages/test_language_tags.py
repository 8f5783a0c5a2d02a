"""Language tags of data: normalised, refused with a sentence, carried by every way in."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.importers import RowError, hh_rlhf, jsonl
from annotate.input.checks import InputError
from annotate.input.language import language_tag
from annotate.models import Item, Prompt, Response
from annotate.services import ItemSpec, ItemSpecError, ResponseSpec, items_add
from tests.factories import CampaignFactory


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("en", "en"),
        ("FR", "fr"),
        ("pt-BR", "pt-br"),
        ("zh_Hans", "zh-hans"),
        ("zh-Hant-TW", "zh-hant-tw"),
        ("es-419", "es-419"),
        (" und ", "und"),
    ],
)
def test_tags_are_normalised(raw, stored):
    assert language_tag(raw) == stored


@pytest.mark.parametrize("raw", ["", "  ", "e", "english!", "fr--ca", "x" * 40, 3, None, "1a"])
def test_bad_tags_are_refused_with_a_sentence(raw):
    with pytest.raises(InputError) as exc:
        language_tag(raw, field="language")
    assert exc.value.field == "language"
    assert "language tag" in exc.value.message


def test_jsonl_rows_carry_their_language_and_responses_may_differ():
    row = jsonl.parse_record(
        {
            "prompt": "Comment fonctionnent les marées ?",
            "responses": ["La lune.", {"text": "The moon.", "language": "en-GB"}],
            "language": "fr",
        },
        1,
    )
    assert row.language == "fr"
    assert [r.language for r in row.responses] == [None, "en-gb"]
    # The command's --language applies to rows without one.
    plain = jsonl.parse_record({"prompt": "Hi", "responses": ["a", "b"]}, 2, language="de")
    assert plain.language == "de"
    assert jsonl.parse_record({"prompt": "Hi", "responses": ["a", "b"]}, 3).language == "und"


def test_bad_language_rejects_the_row_naming_the_field():
    with pytest.raises(RowError, match=r"'language'.*not a language tag"):
        jsonl.parse_record({"prompt": "Hi", "responses": ["a"], "language": "français"}, 1)
    with pytest.raises(RowError, match="response 2 'language'"):
        jsonl.parse_record({"prompt": "Hi", "responses": ["a", {"text": "b", "language": 7}]}, 1)
    record = {
        "chosen": "\n\nHuman: Bonjour\n\nAssistant: Salut",
        "rejected": "\n\nHuman: Bonjour\n\nAssistant: Non",
        "language": "fr",
    }
    assert hh_rlhf.parse_record(record, 1).language == "fr"
    with pytest.raises(RowError):
        hh_rlhf.parse_record({**record, "language": "??"}, 1)


@pytest.mark.django_db
def test_items_add_stores_the_language_on_prompt_item_and_responses():
    campaign = CampaignFactory()
    [item] = items_add(
        campaign=campaign,
        specs=[
            ItemSpec(
                task_type="pairwise",
                messages=[{"role": "user", "content": "¿Qué es la marea?"}],
                responses=[
                    ResponseSpec(text="La luna."),
                    ResponseSpec(text="Moon.", language="en"),
                ],
                language="es-MX",
            )
        ],
    )
    item.refresh_from_db()
    assert item.language == "es-mx"
    assert Prompt.objects.get(pk=item.prompt_id).language == "es-mx"
    assert sorted(Response.objects.values_list("language", flat=True)) == ["en", "es-mx"]
    with pytest.raises(ItemSpecError, match="not a language tag"):
        items_add(
            campaign=campaign,
            specs=[
                ItemSpec(
                    task_type="rating",
                    messages=[{"role": "user", "content": "x"}],
                    responses=[ResponseSpec(text="y")],
                    language="no such",
                )
            ],
        )


@pytest.mark.django_db
def test_import_items_language_option_and_bad_tag(tmp_path):
    CampaignFactory(slug="fr-study")
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps({"prompt": "Bonjour ?", "responses": ["a", "b"]})
        + "\n"
        + json.dumps({"prompt": "Hallo?", "responses": ["a", "b"], "language": "de"})
        + "\n"
    )
    call_command(
        "import_items", str(path), campaign="fr-study", fmt="jsonl", language="fr", no_progress=True
    )
    assert sorted(Item.objects.values_list("language", flat=True)) == ["de", "fr"]
    with pytest.raises(CommandError, match="--language"):
        call_command("import_items", str(path), campaign="fr-study", fmt="jsonl", language="!!")


def test_config_language_keys_are_typed():
    clean = validate_campaign_config(
        {
            "language_quotas": {"FR": {"max_labels": 10}, "pt-BR": {"min_labels": 2}},
            "language_system_prompts": {"fr": "Réponds en français."},
            "adaptive_overlap": {"enabled": True, "base_overlap": 2, "max_overlap": 4},
        }
    )
    assert clean["language_quotas"] == {"fr": {"max_labels": 10}, "pt-br": {"min_labels": 2}}
    with pytest.raises(CampaignConfigError) as exc:
        validate_campaign_config(
            {
                "language_quotas": {"fr": {"max_labels": 1, "min_labels": 5}},
                "adaptive_overlap": {"base_overlap": 6, "max_overlap": 4},
            }
        )
    assert "language_quotas.fr.min_labels" in exc.value.errors
    assert "adaptive_overlap.base_overlap" in exc.value.errors
    with pytest.raises(CampaignConfigError) as exc:
        validate_campaign_config({"language_quotas": {"not a tag": {"max_labels": 1}}})
    assert any("language_quotas" in k for k in exc.value.errors)
