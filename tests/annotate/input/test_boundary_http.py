"""The boundary where requests enter: the middleware, the API's JSON parser, the form
fields and the admin's JSON textareas, through Django's full stack on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.input.forms import BoundedJSONField, TextField, WholeNumberField
from annotate.models import Campaign, Item, TaskType
from tests.factories import CampaignFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_query_nul_on_a_page_is_a_400_page_naming_the_parameter(client):
    response = client.get("/accounts/login/?next=%2F%00")
    assert response.status_code == 400
    assert "next" in response.content.decode() and "NUL" in response.content.decode()


def test_form_field_nul_is_refused_before_the_view(client):
    response = client.post("/accounts/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 400 and "username" in response.content.decode()


def test_api_answers_drf_shaped_json(client):
    user = UserFactory()
    token, _ = Token.objects.get_or_create(user=user)
    response = client.get("/api/v1/campaigns/?cursor=%00", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["Contains a NUL character, which Chorus does not accept."]
    }


def test_nul_in_the_authorization_header_is_refused(client):
    response = client.get("/api/v1/campaigns/", HTTP_AUTHORIZATION="Token abc\x00def")
    assert response.status_code == 400 and "Authorization" in response.content.decode()


def test_json_parser_limit_is_a_setting(settings):
    settings.CHORUS_MAX_JSON_BYTES = 100
    admin = UserFactory(is_staff=True)
    token, _ = Token.objects.get_or_create(user=admin)
    body = json.dumps({"slug": "x", "name": "y" * 200})
    response = Client().post(
        "/api/v1/campaigns/create/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 400
    assert "larger than 100 bytes" in response.json()["detail"]
    assert not Campaign.objects.filter(slug="x").exists()


def test_form_fields():
    class F(forms.Form):
        text = TextField(max_length=5, label="note")
        number = WholeNumberField(min_value=0, max_value=10, required=False)
        data = BoundedJSONField(required=False)

    ok = F({"text": "hi", "number": "7", "data": '{"a": 1}'})
    assert ok.is_valid(), ok.errors
    assert ok.cleaned_data == {"text": "hi", "number": 7, "data": {"a": 1}}
    bad = F({"text": "toolong", "number": "²", "data": "[" * 50_000})
    assert not bad.is_valid()
    assert set(bad.errors) == {"text", "number", "data"}
    assert "at most 5 characters" in bad.errors["text"][0]
    assert "levels" in bad.errors["data"][0]
    assert "[[[[" in bad.as_p()  # the textarea shows what was sent, unparsed


@pytest.mark.parametrize(
    "metadata",
    ["[" * 50_000, '{"a": "\\u0000"}', '{"n": NaN}', '{"n": ' + "9" * 5000 + "}"],
)
def test_admin_json_textareas_refuse_with_a_form_error(admin_client, metadata):
    item = ItemFactory(task_type=TaskType.PAIRWISE, campaign=CampaignFactory())
    response = admin_client.post(
        f"/admin/annotate/item/{item.pk}/change/",
        {"status": "open", "priority": "0", "metadata": metadata, "gold_answer": "null"},
    )
    assert response.status_code == 200  # the form again, with its error
    assert "errorlist" in response.content.decode()
    item.refresh_from_db()
    assert item.metadata == {}
    assert Item.objects.count() == 1
