"""Every writer of Campaign.config goes through the typed schema: REST create/configure,
the admin (typed fields plus the JSON textarea), import_items --config, the check
command. A refusal names the key and writes nothing."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import Campaign
from tests.annotate.test_admin import post_data
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(username="cfg-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api(admin):
    token, _ = Token.objects.get_or_create(user=admin)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def _json(client: Client, method: str, path: str, body: dict) -> tuple[int, dict]:
    response = getattr(client, method)(path, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_rest_create_refuses_a_typo_key(api):
    status, body = _json(
        api,
        "post",
        "/api/v1/campaigns/create/",
        {"slug": "typo", "name": "Typo", "config": {"quotass": {}, "gold_rate": 5}},
    )
    assert status == 400
    assert body["config"]["quotass"] == ["Unknown key; did you mean 'quotas'?"]
    assert "gold_rate" in body["config"]
    assert not Campaign.objects.filter(slug="typo").exists()


def test_rest_configure_stores_the_normalised_config_and_refuses_out_of_range(api):
    campaign = CampaignFactory(slug="conf", config={"min_seconds": 2.0})
    status, body = _json(
        api,
        "patch",
        "/api/v1/campaigns/conf/configure/",
        {"config": {"min_seconds": 4, "refit": {"every_minutes": 0}}},
    )
    assert status == 400 and "refit.every_minutes" in body["config"]
    campaign.refresh_from_db()
    assert campaign.config == {"min_seconds": 2.0}
    status, body = _json(
        api, "patch", "/api/v1/campaigns/conf/configure/", {"config": {"min_seconds": 4}}
    )
    assert status == 200 and body["config"] == {"min_seconds": 4.0}


def _post_admin(client: Client, campaign: Campaign, **changes: str):
    url = f"/admin/annotate/campaign/{campaign.pk}/change/"
    return client.post(url, post_data(client.get(url), **changes))


def test_admin_shows_typed_fields_and_keeps_the_rest_as_json(admin):
    campaign = CampaignFactory(
        config={"gold_rate": 0.1, "refit": {"enabled": True, "every_minutes": 5}, "listed": False}
    )
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/annotate/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="cfg__gold_rate"' in page and 'value="0.1"' in page
    assert 'name="cfg__refit__every_minutes"' not in page  # edited on Campaign servings
    assert 'name="cfg__listed"' in page
    assert "Config: Quality control" in page and "Other settings (JSON)" in page
    # the typed keys are not repeated in the JSON textarea
    textarea = page[page.index('name="config"') :]
    textarea = textarea[: textarea.index("</textarea>")]
    assert "gold_rate" not in textarea and "listed" not in textarea
    assert "every_minutes" in textarea


def test_admin_saves_typed_fields_into_the_config(admin):
    campaign = CampaignFactory(config={"gold_rate": 0.1, "privacy": {"k_anonymity": 3}})
    client = Client()
    client.force_login(admin)
    response = _post_admin(
        client,
        campaign,
        cfg__gold_rate="0.25",
        cfg__min_seconds="4",
        cfg__listed="false",
        cfg__privacy__k_anonymity="3",
        config='{"eligibility": {"residence_country": ["GB"]}}',
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.config == {
        "eligibility": {"residence_country": ["GB"]},
        "gold_rate": 0.25,
        "min_seconds": 4.0,
        "listed": False,
        "privacy": {"k_anonymity": 3},
    }


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"cfg__gold_rate": "5"}, "less than or equal to 1"),
        ({"cfg__conversation_models": "²"}, "whole number"),
        ({"config": '{"quotass": {}}'}, "quotass: Unknown key; did you mean"),
        ({"config": '{"gold_rate": 0.2}'}, "gold_rate has its own field above"),
        ({"config": '{"refit": {"dpo": {"beta": -1}}}'}, "refit.dpo.beta"),
        ({"config": "[" * 10_000}, "levels"),
    ],
)
def test_admin_refuses_with_the_key_named_and_saves_nothing(admin, changes, words):
    campaign = CampaignFactory(config={"min_seconds": 1.0})
    client = Client()
    client.force_login(admin)
    response = _post_admin(client, campaign, **changes)
    assert response.status_code == 200
    assert words in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.config == {"min_seconds": 1.0}


def _lines(path: Path) -> Path:
    path.write_text(json.dumps({"prompt": "How?", "responses": ["a", "b"]}) + "\n")
    return path


def test_import_items_config_is_checked_before_anything_is_written(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"gold_rate": 2, "quotass": 1}')
    with pytest.raises(CommandError) as info:
        call_command(
            "import_items",
            str(_lines(tmp_path / "in.jsonl")),
            "--campaign=new-one",
            "--format=jsonl",
            "--create",
            f"--config={bad}",
            "--no-progress",
            stdout=StringIO(),
        )
    assert "gold_rate" in str(info.value) and "quotass" in str(info.value)
    assert not Campaign.objects.filter(slug="new-one").exists()
    good = tmp_path / "good.json"
    good.write_text('{"gold_rate": 0.2, "listed": false}')
    out = StringIO()
    call_command(
        "import_items",
        str(tmp_path / "in.jsonl"),
        "--campaign=new-one",
        "--format=jsonl",
        "--create",
        f"--config={good}",
        "--no-progress",
        stdout=out,
    )
    assert Campaign.objects.get(slug="new-one").config == {"gold_rate": 0.2, "listed": False}


def test_import_items_config_merges_into_an_existing_campaign(tmp_path):
    campaign = CampaignFactory(config={"min_seconds": 1.0})
    config = tmp_path / "c.json"
    config.write_text('{"gold_rate": 0.3}')
    call_command(
        "import_items",
        str(_lines(tmp_path / "in.jsonl")),
        f"--campaign={campaign.slug}",
        "--format=jsonl",
        f"--config={config}",
        "--no-progress",
        stdout=StringIO(),
    )
    campaign.refresh_from_db()
    assert campaign.config == {"min_seconds": 1.0, "gold_rate": 0.3}


def test_check_command_reports_and_fixes(capsys):
    CampaignFactory(slug="fine", config={"gold_rate": 0.1})
    CampaignFactory(slug="fixable", config={"min_seconds": "3", "refit": None})
    CampaignFactory(slug="broken", config={"quotass": 1})
    out = StringIO()
    with pytest.raises(CommandError, match="1 campaign config"):
        call_command("campaign_config", "--check", "--fix", stdout=out)
    text = out.getvalue()
    assert "broken: config NOT fixed" in text and "quotass" in text
    assert "fixable: config normalised" in text and "fine" not in text
    assert Campaign.objects.get(slug="fixable").config == {"min_seconds": 3.0}
    assert Campaign.objects.get(slug="broken").config == {"quotass": 1}
    docs = StringIO()
    call_command("campaign_config", "--docs", stdout=docs)
    assert "`refit.gates.dpo_max_kl`" in docs.getvalue()
