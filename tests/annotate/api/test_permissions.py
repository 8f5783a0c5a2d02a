"""Permissions matrix: each role against each endpoint.

Roles: anonymous, annotator (ann_1), researcher granted alpha (res_a), researcher
granted only beta (res_b), admin. Objects outside a role's scope answer 404, exactly
like missing ones; a visible object the role may not change answers 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from annotate.models import AnalyticsSnapshot, Export
from modelserve.generation.models import ModelEndpoint
from modelserve.learning.models import PolicyVersion, RewardModelVersion

ROLES = ("anon", "ann_1", "res_a", "res_b", "admin")


def _client(world: Any, role: str) -> Any:
    return world.client(None if role == "anon" else role)


@pytest.fixture
def extra(world):
    AnalyticsSnapshot.objects.create(campaign=world.alpha, n_labels=10, data={"ok": True})
    endpoint = ModelEndpoint.objects.create(name="smol-alpha")
    endpoint.campaigns.add(world.alpha)
    ModelEndpoint.objects.create(name="smol-beta").campaigns.add(world.beta)
    PolicyVersion.objects.create(campaign=world.alpha, version=1, metrics={"win_rate": 0.6})
    RewardModelVersion.objects.create(campaign=world.alpha, version=1, metrics={"acc": 0.7})
    PolicyVersion.objects.create(campaign=world.beta, version=1)
    item = world.labels["ann_1"][0].item
    export = Export.objects.create(
        campaign=world.alpha, requested_by=world.res_a, shape="raw", format="jsonl"
    )
    return {
        "export": export.pk,
        "item": item.pk,
        "ann_1_label": world.labels["ann_1"][0].pk,
        "ann_2_label": world.labels["ann_2"][0].pk,
        "ann_2_assignment": world.labels["ann_2"][0].assignment_id,
        "grant": world.alpha.grants.get().pk,
    }


# (path template, expected status per role in ROLES order)
READS = [
    ("/api/v1/campaigns/alpha/", (401, 404, 200, 404, 200)),
    ("/api/v1/campaigns/alpha/items/", (401, 404, 200, 404, 200)),
    ("/api/v1/campaigns/alpha/items/{item}/", (401, 404, 200, 404, 200)),
    ("/api/v1/campaigns/alpha/annotators/", (401, 404, 200, 404, 200)),
    ("/api/v1/campaigns/alpha/analytics/", (401, 404, 200, 404, 200)),
    ("/api/v1/campaigns/alpha/export?shape=raw", (401, 404, 200, 404, 200)),
    ("/api/v1/annotations/{ann_1_label}/", (401, 200, 200, 404, 200)),
    ("/api/v1/annotations/{ann_2_label}/", (401, 404, 200, 404, 200)),
    ("/api/v1/assignments/{ann_2_assignment}/", (401, 404, 200, 404, 200)),
    ("/api/v1/exports/{export}/", (401, 404, 200, 404, 200)),
    ("/api/v1/exports/", (401, 200, 200, 200, 200)),
    ("/api/v1/grants/", (401, 403, 403, 403, 200)),
    ("/api/v1/me/", (401, 200, 200, 200, 200)),
    ("/api/v1/me/data", (401, 200, 404, 404, 404)),
    ("/api/schema/", (200, 200, 200, 200, 200)),
    ("/api/docs/", (200, 200, 200, 200, 200)),
]


def test_read_matrix(world, extra):
    # One world for the whole table (building it is most of the cost); report every
    # mismatch at once.
    clients = {role: _client(world, role) for role in ROLES}
    wrong = []
    for path, expected in READS:
        url = path.format(**extra)
        got = tuple(clients[role].get(url).status_code for role in ROLES)
        if got != expected:
            wrong.append(f"{url}: got {got}, want {expected}")
    assert not wrong, "\n".join(wrong)


# Collections answer 200 to everyone signed in, but with only what each may see.
LISTS = [
    ("/api/v1/campaigns/", "slug", ((), ("alpha",), ("beta",), ("alpha", "beta"))),
    (
        "/api/v1/model-endpoints/",
        "name",
        ((), ("smol-alpha",), ("smol-beta",), ("smol-alpha", "smol-beta")),
    ),
    ("/api/v1/policy-versions/", "campaign", ((), ("alpha",), ("beta",), ("alpha", "beta"))),
    ("/api/v1/reward-model-versions/", "campaign", ((), ("alpha",), (), ("alpha",))),
]


def test_list_scoping(world, extra):
    for path, key, expected in LISTS:
        assert _client(world, "anon").get(path).status_code == 401
        for role, want in zip(ROLES[1:], expected, strict=True):
            response = _client(world, role).get(path)
            assert response.status_code == 200, (path, role, response.content)
            got = tuple(sorted(r[key] for r in response.json()["results"]))
            assert got == want, (path, role)


def test_annotation_and_assignment_lists_are_scoped(world, extra):
    def ids(role: str, path: str) -> set[int]:
        response = _client(world, role).get(path)
        assert response.status_code == 200
        return {r["id"] for r in response.json()["results"]}

    own = {a.pk for a in world.labels["ann_1"]}
    alpha = own | {a.pk for a in world.labels["ann_2"]}
    beta = {a.pk for a in world.labels["ann_3"]}
    assert ids("ann_1", "/api/v1/annotations/") == own
    assert ids("res_a", "/api/v1/annotations/") == alpha
    assert ids("res_b", "/api/v1/annotations/") == beta
    assert ids("admin", "/api/v1/annotations/") == alpha | beta
    # A campaign filter on someone else's campaign is a 404, not an empty list.
    assert _client(world, "res_b").get("/api/v1/annotations/?campaign=alpha").status_code == 404
    own_asg = {a.assignment_id for a in world.labels["ann_1"]}
    assert ids("ann_1", "/api/v1/assignments/") == own_asg
    assert ids("res_b", "/api/v1/assignments/") == {a.assignment_id for a in world.labels["ann_3"]}


WRITES = [
    (
        "post",
        "/api/v1/campaigns/create/",
        {"slug": "gamma", "name": "Gamma"},
        (401, 403, 403, 403, 201),
    ),
    (
        "patch",
        "/api/v1/campaigns/alpha/configure/",
        {"description": "new"},
        (401, 404, 403, 404, 200),
    ),
    ("post", "/api/v1/campaigns/alpha/close/", {}, (401, 404, 403, 404, 200)),
    ("post", "/api/v1/campaigns/alpha/pause/", {}, (401, 404, 403, 404, 200)),
    ("post", "/api/v1/campaigns/alpha/open/", {}, (401, 404, 403, 404, 200)),
    (
        "post",
        "/api/v1/campaigns/alpha/guidelines/",
        {"text": "Be kind."},
        (401, 404, 403, 404, 201),
    ),
    (
        "post",
        "/api/v1/campaigns/alpha/items/add/",
        {
            "items": [
                {
                    "task_type": "pairwise",
                    "messages": [{"role": "user", "content": "Hi"}],
                    "responses": [{"text": "Hello"}, {"text": "Hey"}],
                }
            ]
        },
        (401, 404, 403, 404, 201),
    ),
    (
        "post",
        "/api/v1/grants/create/",
        {"campaign": "beta", "user": "res_a"},
        (401, 403, 403, 403, 201),
    ),
]


def test_write_matrix(world, extra):
    clients = {role: _client(world, role) for role in ROLES}
    wrong = []
    for method, path, body, expected in WRITES:
        got = []
        for role in ROLES:
            response = getattr(clients[role], method)(path.format(**extra), body, format="json")
            got.append(response.status_code)
            if response.status_code == 201 and "slug" in body:
                # Only one create may succeed; a second with the same slug must be a 400.
                again = getattr(clients[role], method)(path, body, format="json")
                assert again.status_code == 400
        if tuple(got) != expected:
            wrong.append(f"{method} {path}: got {tuple(got)}, want {expected}")
    assert not wrong, "\n".join(wrong)


def test_grant_revoke_only_admin_and_takes_effect(world, extra):
    path = f"/api/v1/grants/{extra['grant']}/"
    for role in ("ann_1", "res_a", "res_b"):
        assert _client(world, role).delete(path).status_code == 403
    assert _client(world, "res_a").get("/api/v1/campaigns/alpha/").status_code == 200
    assert _client(world, "admin").delete(path).status_code == 204
    assert _client(world, "res_a").get("/api/v1/campaigns/alpha/").status_code == 404
    assert _client(world, "res_a").get("/api/v1/campaigns/alpha/export").status_code == 404
    assert _client(world, "admin").delete(path).status_code == 404


def test_session_auth_works_for_the_browser(world, extra):
    from django.test import Client

    client = Client()
    client.force_login(world.res_a)
    assert client.get("/api/v1/campaigns/alpha/").status_code == 200
    # CSRF is enforced for session-authenticated writes.
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.admin)
    response = csrf_client.post(
        "/api/v1/campaigns/alpha/close/", {}, content_type="application/json"
    )
    assert response.status_code == 403


def test_throttling_is_per_user(world, settings):
    from django.core.cache import cache

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    res_a, res_b = _client(world, "res_a"), _client(world, "res_b")
    codes = [res_a.get("/api/v1/campaigns/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert res_b.get("/api/v1/campaigns/").status_code == 200  # its own bucket
    cache.clear()


def test_docs_load_no_asset_from_a_cdn(world):
    import re

    html = _client(world, "anon").get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets)
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
