"""Every user text is escaped: hostile prompts, responses, reasons, names, profiles."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import Prompt, Response

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.mark.django_db
def test_task_page_escapes_prompt_and_responses(world):
    item = world.a_assignment.item
    Prompt.objects.filter(pk=item.prompt_id).update(
        text=XSS, messages=[{"role": "user", "content": XSS}]
    )
    Response.objects.filter(pk__in=world.a_assignment.presented_order).update(text=XSS)
    client = Client()
    client.force_login(world.a.user)
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.get(reverse("task", args=[world.a_assignment.pk]), **extra)
        assert response.status_code == 200
        assert XSS.encode() not in response.content
        assert b"<img src=x onerror" not in response.content
        assert b"&lt;script&gt;" in response.content


@pytest.mark.django_db
def test_submit_error_echo_is_escaped(world):
    client = Client()
    client.force_login(world.a.user)
    response = client.post(
        reverse("task_submit", args=[world.a_assignment.pk]),
        {"choice": XSS, "reason": XSS},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert XSS.encode() not in response.content


@pytest.mark.django_db
def test_username_is_escaped_in_the_page_header():
    from tests.factories import UserFactory

    user = UserFactory(username="<b>mallory</b>")
    client = Client()
    client.force_login(user)
    response = client.get(reverse("profile_edit"), follow=True)
    assert b"<b>mallory</b>" not in response.content
    assert b"&lt;b&gt;mallory&lt;/b&gt;" in response.content
