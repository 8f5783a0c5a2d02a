"""CSRF: every state-changing request without a token is refused, on every URL.

The routes are enumerated from the URL resolver, so a view added later is covered
without touching this file; a view someone marks ``csrf_exempt`` makes this test fail.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from .urlwalk import iter_routes

# Admin's own regex for the app index only accepts installed app labels.
GUESSES = {"app_label": "auth", "model_name": "user", "object_id": "1", "url": "x"}


def _url(route, world) -> str | None:
    if not route.name:
        return None
    kwargs = {}
    for param in route.params:
        if param == "slug":
            kwargs[param] = world.campaign.slug
        elif param == "assignment_id":
            kwargs[param] = world.a_assignment.pk
        elif param.endswith("_id") or param in ("pk", "id"):
            kwargs[param] = 1
        else:
            kwargs[param] = GUESSES.get(param, "x")
    try:
        return reverse(route.name, kwargs=kwargs)
    except NoReverseMatch:
        return None


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_route_refuses_state_change_without_token(world, method):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.user)
    checked, refused_badly = 0, []
    for route in iter_routes():
        url = _url(route, world)
        if url is None:
            continue
        checked += 1
        response = getattr(client, method)(
            url, data="choice=A", content_type="application/x-www-form-urlencoded"
        )
        body = response.content[:4000]
        if url.startswith("/api/"):
            # DRF: session-authenticated writes need the token (403 "CSRF Failed");
            # views that accept only tokens answer 401/403 to a cookie.
            ok = response.status_code in (401, 403)
        else:
            ok = response.status_code == 403 and b"CSRF" in body
        if not ok:
            refused_badly.append((route.name, url, response.status_code))
    assert checked > 40, f"the URL walk found only {checked} routes"
    assert not refused_badly, f"accepted or mis-refused without a CSRF token: {refused_badly}"


@pytest.mark.django_db
def test_htmx_submit_without_token_is_refused_and_stores_nothing(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.user)
    url = reverse("task_submit", args=[world.a_assignment.pk])
    response = client.post(url, {"choice": "A"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    world.a_assignment.refresh_from_db()
    assert world.a_assignment.status == "active"
    assert not hasattr(world.a_assignment, "annotation")


@pytest.mark.django_db
def test_htmx_submit_with_header_token_is_accepted(world):
    """The control: the same request with the header htmx sends (base.html hx-headers)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.user)
    page = client.get(reverse("login"))  # any page sets the CSRF cookie
    token = page.cookies["csrftoken"].value
    url = reverse("task_submit", args=[world.a_assignment.pk])
    response = client.post(url, {"choice": "A"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code != 403
    world.a_assignment.refresh_from_db()
    assert world.a_assignment.status == "submitted"


@pytest.mark.django_db
def test_login_form_without_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"), {"username": world.a.user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
