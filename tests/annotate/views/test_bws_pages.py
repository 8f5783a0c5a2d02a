"""Best-worst scaling through the task views: the page, a good answer, refused answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment, AssignmentStatus, TaskType
from annotate.payloads import PayloadContext, PayloadError, validate_payload
from tests.annotate.ui_helpers import HX, campaign_with, client_for, onboarded_annotator


def _lease(client, campaign):
    response = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert response.status_code == 200, response.content[:500]
    return Assignment.objects.get(campaign=campaign, status=AssignmentStatus.ACTIVE), response


@pytest.fixture
def client(db):
    return client_for(onboarded_annotator())


@pytest.mark.django_db
def test_page_shows_k_responses_with_best_and_worst_choices(client):
    campaign = campaign_with(TaskType.BWS)
    a, page = _lease(client, campaign)
    body = page.content.decode()
    assert len(a.presented_order) == 4
    assert "Pick the best and the worst response" in body
    for rid in a.presented_order:
        assert f'name="best" value="{rid}"' in body
        assert f'name="worst" value="{rid}"' in body
    assert "The focused response is the worst" in body  # the shortcut list


@pytest.mark.django_db
def test_good_answer_is_stored_with_the_shown_ids(client):
    campaign = campaign_with(TaskType.BWS)
    a, _ = _lease(client, campaign)
    best, _, worst, _ = a.presented_order
    r = client.post(reverse("task_submit", args=[a.pk]), {"best": best, "worst": worst}, **HX)
    assert r.status_code == 200
    payload = Annotation.objects.get(assignment=a).payload
    assert payload == {"best": best, "worst": worst, "response_ids": a.presented_order}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "best", "Choose the best response."),
        ({"best": "first"}, "worst", "Choose the worst response."),
        ({"best": "first", "worst": "first"}, "worst", "must be different"),
        ({"best": "999999", "worst": "first"}, "best", "Not one of this task&#x27;s responses."),
        ({"best": "first", "worst": "x1"}, "worst", "Must be a whole number."),
    ],
)
def test_invalid_answers_are_form_errors(client, data, key, message):
    campaign = campaign_with(TaskType.BWS)
    a, _ = _lease(client, campaign)
    first = str(a.presented_order[0])
    post = {k: first if v == "first" else v for k, v in data.items()}
    r = client.post(reverse("task_submit", args=[a.pk]), post, **HX)
    assert r.status_code == 422
    body = r.content.decode()
    assert f'data-error-key="{key}"' in body
    assert message in body
    if post.get("best") == first:  # what was chosen stays chosen
        assert f'name="best" value="{first}" data-bws-best checked' in body
    assert not Annotation.objects.exists()


def test_validator_refuses_two_responses_and_accepts_three():
    with pytest.raises(PayloadError):
        validate_payload("bws", {"best": 1, "worst": 2}, PayloadContext(presented_order=[1, 2]))
    out = validate_payload(
        "bws", {"best": "3", "worst": 1}, PayloadContext(presented_order=[1, 2, 3])
    )
    assert out == {"best": 3, "worst": 1, "response_ids": [1, 2, 3]}
