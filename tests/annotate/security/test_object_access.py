"""Object-level access: nobody reaches another person's data, by any route.

Generic part: every URL pattern that takes an ``assignment_id`` or ``annotation_id``
(task pages, htmx partials, submit/skip, conversation endpoints, API details) is called
by annotator A with annotator B's ids, with GET and POST: each must answer 403/404, leak
none of B's text, and change nothing. Specific parts: filters, exports and grants.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation, Assignment

from .conftest import SECRET
from .urlwalk import iter_routes

OWNED_PARAMS = {"assignment_id", "annotation_id"}


def _owned_routes():
    return [r for r in iter_routes() if r.name and OWNED_PARAMS & set(r.params)]


def _kwargs(route, world, *, target):
    kwargs = {}
    for param in route.params:
        if param == "slug":
            kwargs[param] = world.campaign.slug
        elif param == "assignment_id":
            kwargs[param] = target.pk
        elif param == "annotation_id":
            kwargs[param] = world.b_annotation.pk
    return kwargs


def _snapshot(world):
    return (
        list(
            Assignment.objects.filter(annotator=world.b).order_by("pk").values_list("pk", "status")
        ),
        list(Annotation.objects.filter(annotator=world.b).values_list("pk", "payload")),
    )


@pytest.mark.django_db
def test_routes_with_owned_ids_were_found():
    names = {r.name for r in _owned_routes()}
    assert {"task", "task_submit", "task_skip"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["b_pending", "b_assignment"])
def test_annotator_cannot_reach_another_annotators_work(world, which):
    client = Client()
    client.force_login(world.a.user)
    before = _snapshot(world)
    failures = []
    for route in _owned_routes():
        url = reverse(route.name, kwargs=_kwargs(route, world, target=getattr(world, which)))
        for method, extra in (
            ("get", {}),
            ("get", {"HTTP_HX_REQUEST": "true"}),
            ("post", {}),
            ("post", {"HTTP_HX_REQUEST": "true"}),
        ):
            data = {"choice": "A", "reason": "x", "prompt": "hi", "rating": "50"}
            response = getattr(client, method)(url, data, **extra)
            leaked = SECRET.encode() in response.content
            if response.status_code not in (403, 404, 405) or leaked:
                failures.append((route.name, method, extra, response.status_code, leaked))
    assert not failures, failures
    assert _snapshot(world) == before


@pytest.mark.django_db
def test_anonymous_cannot_reach_any_owned_route(world):
    client = Client()
    for route in _owned_routes():
        url = reverse(route.name, kwargs=_kwargs(route, world, target=world.b_pending))
        response = client.get(url)
        assert response.status_code in (302, 401, 403, 404, 405), (route.name, response.status_code)
        assert SECRET.encode() not in response.content


@pytest.mark.django_db
def test_own_task_page_is_reachable(world):
    """The control for the test above: A's own assignment renders."""
    client = Client()
    client.force_login(world.a.user)
    response = client.get(reverse("task", args=[world.a_assignment.pk]))
    assert response.status_code == 200


def _api(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_api_filters_and_exports_stay_inside_grants(world):
    """A researcher granted another campaign sees none of this one's labels."""
    outsider = _api(world.outsider)
    slug = world.campaign.slug
    checks = {
        "annotation list filtered to the campaign": f"/api/v1/annotations/?campaign={slug}",
        "annotation detail": f"/api/v1/annotations/{world.b_annotation.pk}/",
        "assignment list filtered": f"/api/v1/assignments/?campaign={slug}",
        "assignment detail": f"/api/v1/assignments/{world.b_pending.pk}/",
        "campaign detail": f"/api/v1/campaigns/{slug}/",
        "items": f"/api/v1/campaigns/{slug}/items/",
        "annotators": f"/api/v1/campaigns/{slug}/annotators/",
        "export": f"/api/v1/campaigns/{slug}/export?shape=raw&format=jsonl",
    }
    for label, url in checks.items():
        response = outsider.get(url)
        assert SECRET.encode() not in response.content, label
        if response.status_code == 200:
            data = response.json() if "json" in response.get("Content-Type", "") else {}
            rows = data.get("results", data) if isinstance(data, dict) else data
            assert not rows or rows == {} or isinstance(rows, dict), (label, rows)
        else:
            assert response.status_code in (400, 403, 404), (label, response.status_code)


@pytest.mark.django_db
def test_api_granted_researcher_sees_the_data(world):
    """The control: the researcher holding the grant does get the label."""
    response = _api(world.researcher).get(f"/api/v1/annotations/?campaign={world.campaign.slug}")
    assert response.status_code == 200
    assert response.json()["results"], response.json()


@pytest.mark.django_db
def test_annotators_cannot_use_the_research_api(world):
    client = _api(world.a.user)
    for url in (
        f"/api/v1/annotations/{world.b_annotation.pk}/",
        f"/api/v1/annotations/?campaign={world.campaign.slug}",
        f"/api/v1/campaigns/{world.campaign.slug}/export?shape=raw&format=jsonl",
    ):
        response = client.get(url)
        assert SECRET.encode() not in response.content, url
        if response.status_code == 200:
            assert not response.json().get("results"), url
        else:
            assert response.status_code in (403, 404), (url, response.status_code)


@pytest.mark.django_db
def test_my_data_contains_only_my_labels(world):
    client = _api(world.a.user)
    for url in ("/api/v1/me/data", reverse("my_data_download")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET.encode() not in b"".join(
            response.streaming_content if response.streaming else [response.content]
        ), url


def _campaign_routes():
    return [
        r
        for r in iter_routes()
        if r.name.startswith(("api:", "dashboard:")) and r.params and set(r.params) <= {"slug"}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["outsider", "annotator"])
def test_campaign_scoped_routes_refuse_people_without_a_grant(world, who):
    """Every API and dashboard route (pages and htmx partials) keyed by a campaign slug."""
    routes = _campaign_routes()
    assert len(routes) >= 10
    client = Client()
    client.force_login(world.outsider if who == "outsider" else world.a.user)
    failures = []
    for route in routes:
        url = reverse(route.name, kwargs={"slug": world.campaign.slug})
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, **extra)
            leaked = SECRET.encode() in response.content
            if response.status_code not in (302, 403, 404, 405) or leaked:
                failures.append((route.name, extra, response.status_code, leaked))
    assert not failures, failures


@pytest.mark.django_db
def test_campaign_scoped_routes_serve_the_granted_researcher(world):
    """The control: with the grant, the read routes answer."""
    client = Client()
    client.force_login(world.researcher)
    ok = [
        r.name
        for r in _campaign_routes()
        if r.name.startswith("api:")
        and client.get(reverse(r.name, kwargs={"slug": world.campaign.slug})).status_code == 200
    ]
    assert "api:campaign-detail" in ok, ok
