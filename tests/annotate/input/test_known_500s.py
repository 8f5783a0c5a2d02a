"""Every input issue 13 lists as a 500 (an independent test of the running app), each
as its own regression test: now a 400 or a form error that names the field, a clear
command message, and never a partial write.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import Annotation, Campaign, Item, Prompt, TaskType
from annotate.roles import RESEARCHER_GROUP
from modelserve.models import GenerationRequest
from tests.annotate.ui_helpers import HX, PROFILE_POST, client_for, onboarded_annotator
from tests.conversation_helpers import (
    FAKE_BACKENDS,
    conversation_campaign,
    lease_conversation,
    run_pending_generations,
)
from tests.factories import AssignmentFactory, CampaignFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"
BIG = "7" * 5000
DEEP = "[" * 50_000 + "]" * 50_000


# --- task and conversation forms ------------------------------------------------------


@pytest.fixture
def annotator():
    return onboarded_annotator()


def _submit(annotator: Any, task_type: str, data: dict[str, str], **campaign: Any) -> Any:
    item = ItemFactory(task_type=task_type, campaign=CampaignFactory(**campaign))
    order = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
    assignment = AssignmentFactory(item=item, annotator=annotator, presented_order=order)
    data = {k.replace("{id}", str(order[0])): v for k, v in data.items()}
    response = client_for(annotator).post(f"/tasks/{assignment.pk}/submit/", data, **HX)
    assert not Annotation.objects.filter(assignment=assignment).exists()
    return response, order


@pytest.mark.parametrize("value", ["²", "\u0661\u0662", "\uff15", BIG, "-" + BIG])
def test_rating_value_that_is_not_an_ascii_number(annotator, value):
    response, order = _submit(annotator, TaskType.RATING, {"rating_{id}_helpfulness": value})
    assert response.status_code == 422
    assert f"ratings.{order[0]}.helpfulness" in response.content.decode() or (
        "whole number" in response.content.decode()
    )


@pytest.mark.parametrize("value", ["²", BIG])
def test_edit_response_id(annotator, value):
    response, _ = _submit(annotator, TaskType.EDIT, {"response_id": value, "edited_text": "x y"})
    assert response.status_code == 422
    assert "whole number" in response.content.decode()


@pytest.mark.parametrize(
    "spans",
    [
        json.dumps([{"start": "²", "end": 3, "category": "x"}]),
        json.dumps([{"start": 0, "end": BIG, "category": "x"}]),
        '[{"start": 0, "end": ' + BIG + ', "category": "x"}]',
        DEEP,
        '[{"start": NaN, "end": 3, "category": "x"}]',
    ],
)
def test_critique_span_offsets_and_deep_json(annotator, spans):
    response, _ = _submit(
        annotator,
        TaskType.CRITIQUE,
        {"critique": "Too long.", "spans": spans},
        critique_categories=["x"],
    )
    assert response.status_code == 422
    assert "spans" in response.content.decode()


@pytest.fixture
def chat(settings, annotator):
    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS
    campaign, _ = conversation_campaign(k=2, min_turns=1, max_turns=2)
    assignment = lease_conversation(campaign, annotator)
    return client_for(annotator), assignment


def _chat_post(client: Client, assignment: Any, action: str, data: Any) -> Any:
    # URL-encoded, as the page's htmx sends it.
    url = f"/tasks/conversation/{assignment.pk}/{action}"
    return client.post(url, urlencode(data), content_type=FORM)


@pytest.mark.parametrize("text", ["\x00", "Hi\x00there"])
def test_nul_in_a_conversation_prompt(chat, text):
    client, assignment = chat
    response = _chat_post(client, assignment, "start", {"text": text})
    assert response.status_code == 400
    assert "text" in response.content.decode() and "NUL" in response.content.decode()
    assert not Prompt.objects.filter(campaign=assignment.campaign).exists()


def _rated_ready(client: Client, assignment: Any) -> list[int]:
    assert _chat_post(client, assignment, "start", {"text": "Hello"}).status_code == 302
    run_pending_generations()
    return list(GenerationRequest.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.parametrize("bad_key", ["²", "\u0663", BIG, "-1"])
def test_conversation_rate_field_names_carrying_bad_numbers(chat, bad_key):
    client, assignment = chat
    ids = _rated_ready(client, assignment)
    data = {f"score-{pk}": "60" for pk in ids}
    data[f"score-{bad_key}"] = "50"
    response = _chat_post(client, assignment, "rate", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "score-" in body  # the field is named
    assert not Annotation.objects.filter(campaign=assignment.campaign).exists()


def test_conversation_continue_refuses_nul_too(chat):
    client, assignment = chat
    ids = _rated_ready(client, assignment)
    assert _chat_post(client, assignment, "rate", {f"score-{p}": "60" for p in ids}).status_code
    response = _chat_post(client, assignment, "continue", {"text": "More\x00"})
    assert response.status_code == 400 and "text" in response.content.decode()


# --- REST API -------------------------------------------------------------------------


@pytest.fixture
def api():
    admin = UserFactory(username="api-admin", is_staff=True)
    researcher = UserFactory(username="api-res")
    researcher.groups.add(Group.objects.get_or_create(name=RESEARCHER_GROUP)[0])
    campaign = CampaignFactory(
        slug="alpha", config={"privacy": {"profile_fields": ["residence_country"]}}
    )
    campaign.grants.create(user=researcher)

    def client(user: Any) -> Client:
        token, _ = Token.objects.get_or_create(user=user)
        return Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    return {"admin": client(admin), "researcher": client(researcher), "campaign": campaign}


def _detail(response: Any) -> str:
    assert response["Content-Type"].startswith("application/json")
    return json.dumps(response.json())


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/grants/?campaign=a%00b", "campaign"),
        ("/api/v1/model-endpoints/?campaign=a%00b", "campaign"),
        ("/api/v1/policy-versions/?campaign=a%00b", "campaign"),
        ("/api/v1/reward-model-versions/?campaign=a%00b", "campaign"),
        ("/api/v1/annotations/?campaign=a%00b", "campaign"),
        ("/api/v1/assignments/?campaign=a%00b", "campaign"),
        ("/api/v1/campaigns/alpha/export?annotator=a%00b", "annotator"),
        ("/api/v1/campaigns/alpha/export?country=G%00B", "country"),
        ("/api/v1/annotations/?campaign=alpha&country=%00", "country"),
    ],
)
def test_nul_in_a_query_parameter(api, path, name):
    response = api["admin"].get(path)
    assert response.status_code == 400
    assert name in _detail(response)


def _post(client: Client, path: str, body: str, method: str = "post") -> Any:
    return getattr(client, method)(
        path, body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/api/v1/grants/create/", "post", '{"campaign": "alpha", "user": "a\\u0000"}', "user"),
        (
            "/api/v1/grants/create/",
            "post",
            '{"campaign": "alpha\\ud800", "user": "api-res"}',
            "campaign",
        ),
        (
            "/api/v1/campaigns/alpha/configure/",
            "patch",
            '{"description": "x\\u0000"}',
            "description",
        ),
        ("/api/v1/campaigns/alpha/configure/", "patch", '{"config": {"gold_rate": NaN}}', "NaN"),
        (
            "/api/v1/campaigns/alpha/configure/",
            "patch",
            '{"config": {"gold_rate": Infinity}}',
            "Infinity",
        ),
        ("/api/v1/campaigns/alpha/configure/", "patch", '{"overlap": 1e400}', "overlap"),
        ("/api/v1/campaigns/alpha/configure/", "patch", '{"overlap": ' + BIG + "}", "digits"),
        ("/api/v1/campaigns/alpha/configure/", "patch", '{"name": "\\udfff"}', "name"),
        ("/api/v1/campaigns/alpha/guidelines/", "post", DEEP, "deep"),
        (
            "/api/v1/campaigns/create/",
            "post",
            '{"slug": "x", "name": "x", "config": ' + "[" * 5000 + "]" * 5000 + "}",
            "deep",
        ),
    ],
)
def test_hostile_json_bodies(api, path, method, body, field):
    before = Campaign.objects.get(slug="alpha")
    response = _post(api["admin"], path, body, method)
    assert response.status_code == 400
    assert field.lower() in _detail(response).lower()
    after = Campaign.objects.get(slug="alpha")
    assert (after.description, after.config, after.name) == (
        before.description,
        before.config,
        before.name,
    )


def test_nul_in_a_metadata_key_of_items_add(api):
    item = {
        "task_type": "pairwise",
        "messages": [{"role": "user", "content": "q"}],
        "responses": [{"text": "a"}, {"text": "b"}],
        "metadata": {"ok": 1, "bad\u0000key": 2},
    }
    response = _post(
        api["admin"], "/api/v1/campaigns/alpha/items/add/", json.dumps({"items": [item]})
    )
    assert response.status_code == 400
    assert "items[0].metadata" in _detail(response)
    assert not Item.objects.filter(campaign=api["campaign"]).exists()


# --- import commands ------------------------------------------------------------------


def _hh(question: str = "Hi?") -> dict[str, str]:
    return {
        "chosen": f"\n\nHuman: {question}\n\nAssistant: Hello.",
        "rejected": f"\n\nHuman: {question}\n\nAssistant: Go away.",
    }


BAD_LINES = {
    "deep": DEEP,
    "big-int": '{"prompt": "q", "responses": ["a"], "metadata": {"n": ' + BIG + "}}",
    "nan": '{"prompt": "q", "responses": ["a"], "metadata": {"n": NaN}}',
    "infinity": '{"prompt": "q", "responses": ["a"], "metadata": {"n": -Infinity}}',
    "1e400": '{"prompt": "q", "responses": ["a"], "metadata": {"n": 1e400}}',
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_import_items_hostile_lines_are_reported_and_skippable(tmp_path: Path, kind):
    campaign = CampaignFactory()
    good = json.dumps({"prompt": "How?", "responses": ["x", "y"]})
    path = tmp_path / "in.jsonl"
    path.write_text(f"{good}\n{BAD_LINES[kind]}\n")
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "import_items",
            str(path),
            f"--campaign={campaign.slug}",
            "--format=jsonl",
            "--no-progress",
            stdout=StringIO(),
            stderr=err,
        )
    assert "line 2" in str(info.value) or "2" in str(info.value)
    assert "line 2:" in err.getvalue()
    assert not Item.objects.filter(campaign=campaign).exists()
    out = StringIO()
    call_command(
        "import_items",
        str(path),
        f"--campaign={campaign.slug}",
        "--format=jsonl",
        "--no-progress",
        "--skip-bad",
        stdout=out,
        stderr=StringIO(),
    )
    assert Item.objects.filter(campaign=campaign).count() == 1
    assert "rows rejected: 1" in out.getvalue()


def test_import_items_caps_response_text_like_the_api(tmp_path: Path):
    campaign = CampaignFactory()
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"prompt": "q", "responses": ["a" * 100_001, "b"]}) + "\n")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_items",
            str(path),
            f"--campaign={campaign.slug}",
            "--format=jsonl",
            "--no-progress",
            stdout=StringIO(),
            stderr=err,
        )
    assert "100000" in err.getvalue().replace(",", "")
    assert not Item.objects.filter(campaign=campaign).exists()


@pytest.mark.parametrize(
    ("suffix", "content", "reason"),
    [
        (".txt", b"good prompt\n\xff\xfe bad bytes\n", "UTF-8"),
        (".txt", b"good prompt\nwith a \x00 NUL\n", "NUL"),
        (".txt", bytes(range(256)) * 4, "binary"),
        (".jsonl", b'{"prompt": "q\\u0000"}\n', "NUL"),
        (".jsonl", b'{"prompt": "q\\ud800"}\n', "surrogate"),
        (".jsonl", DEEP.encode() + b"\n", "deep"),
        (".jsonl", b"\x00\x01\x02\x03", "binary"),
    ],
)
def test_pool_prompts_refuses_bad_files_with_a_message(tmp_path: Path, suffix, content, reason):
    campaign = CampaignFactory()
    path = tmp_path / f"prompts{suffix}"
    path.write_bytes(content)
    with pytest.raises(CommandError) as info:
        call_command("pool_prompts", campaign.slug, str(path), stdout=StringIO())
    assert reason.lower() in str(info.value).lower()
    assert not Prompt.objects.filter(campaign=campaign).exists()


# --- limits only in the browser -------------------------------------------------------


@pytest.mark.parametrize("field", ["self_description", "system_prompt"])
def test_profile_text_limit_is_enforced_on_the_server(annotator, field):
    data = {**PROFILE_POST, field: "x" * 2001}
    response = client_for(annotator).post("/profile/edit/", data)
    assert response.status_code == 400
    assert "2000" in response.content.decode().replace(",", "")
    annotator.refresh_from_db()
    assert len(getattr(annotator.current_profile, field)) < 2001


def test_skip_reason_limit_is_the_inputs_and_is_said(annotator):
    item = ItemFactory(task_type=TaskType.PAIRWISE, campaign=CampaignFactory())
    order = list(item.item_responses.values_list("response_id", flat=True))
    assignment = AssignmentFactory(item=item, annotator=annotator, presented_order=order)
    response = client_for(annotator).post(
        f"/tasks/{assignment.pk}/skip/", {"reason": "x" * 501}, **HX
    )
    assert response.status_code == 422
    assert "at most 500 characters" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == "active"


def test_conversation_message_limit_is_the_textareas(chat):
    client, assignment = chat
    response = _chat_post(client, assignment, "start", {"text": "x" * 4001})
    assert response.status_code == 400 and "4000" in response.content.decode()
    assert not Prompt.objects.filter(campaign=assignment.campaign).exists()
