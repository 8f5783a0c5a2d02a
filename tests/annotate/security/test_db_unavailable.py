"""Database down: a clear 503 with Retry-After (JSON for the API and htmx), not a 500.

The real thing (PostgreSQL restarted under load) is in tests/ops; here the database
error is injected so each response shape is checked quickly.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse


def _boom(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def _fail_annotator_lookup(monkeypatch, error) -> None:
    """The annotator comes with the session's user (annotator_of), else is created."""
    monkeypatch.setattr("annotate.views.common.annotator_of", error)
    monkeypatch.setattr("annotate.views.common.annotator_get_or_create", error)


@pytest.mark.django_db
def test_browser_page_gets_html_503(world, monkeypatch):
    _fail_annotator_lookup(monkeypatch, _boom)
    client = Client(raise_request_exception=False)
    client.force_login(world.a.user)
    response = client.get(reverse("task", args=[world.a_assignment.pk]))
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert b"briefly unavailable" in response.content
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_htmx_and_api_get_json_503(world, monkeypatch):
    _fail_annotator_lookup(monkeypatch, _boom)
    client = Client(raise_request_exception=False)
    client.force_login(world.a.user)
    response = client.post(
        reverse("task_submit", args=[world.a_assignment.pk]),
        {"choice": "A"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    monkeypatch.setattr("annotate.api.base.campaign_visible_to", _boom)
    client.force_login(world.researcher)
    response = client.get(f"/api/v1/campaigns/{world.campaign.slug}/")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert "Retry-After" in response


@pytest.mark.django_db
def test_error_outside_the_view_is_also_a_503(world, monkeypatch):
    """A database error raised by middleware (the session load) becomes a 503 too."""
    from importlib import import_module

    from django.conf import settings

    # The engine in use (cached_db in production settings), not a fixed one.
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    client = Client(raise_request_exception=False)
    client.force_login(world.a.user)
    monkeypatch.setattr(SessionStore, "load", _boom)
    response = client.get(reverse("profile"))
    assert response.status_code == 503


@pytest.mark.django_db
def test_other_errors_stay_500(world, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError

    _fail_annotator_lookup(monkeypatch, bug)
    client = Client(raise_request_exception=False)
    client.force_login(world.a.user)
    assert client.get(reverse("task", args=[world.a_assignment.pk])).status_code == 500
