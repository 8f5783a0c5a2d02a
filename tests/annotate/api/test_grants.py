"""POST /api/v1/grants/create/: idempotent, and only for researchers."""

from __future__ import annotations

from annotate.models import AuditEvent, CampaignGrant
from tests.factories import UserFactory

URL = "/api/v1/grants/create/"


def test_granting_twice_answers_the_existing_grant(world):
    admin = world.client("admin")
    first = admin.post(URL, {"campaign": "beta", "user": "res_a"}, format="json")
    assert first.status_code == 201, first.content
    again = admin.post(URL, {"campaign": "beta", "user": "res_a"}, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert set(first.json()) == {"id", "campaign", "user", "granted_by", "created_at"}
    assert CampaignGrant.objects.filter(campaign=world.beta, user=world.res_a).count() == 1
    # Recorded once: the repeat wrote nothing.
    assert AuditEvent.objects.filter(action="grant.create", actor=world.admin).count() == 1


def test_an_existing_grant_keeps_who_granted_it(world):
    """The conftest's grant of alpha to res_a has no granter; repeating it changes nothing."""
    response = world.client("admin").post(
        URL, {"campaign": "alpha", "user": "res_a"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["granted_by"] is None


def test_a_non_researcher_is_refused_with_the_way_to_fix_it(world):
    UserFactory(username="outsider")
    response = world.client("admin").post(
        URL, {"campaign": "alpha", "user": "outsider"}, format="json"
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "outsider is not a researcher" in detail
    assert "add the user to the 'researcher' group" in detail
    assert not CampaignGrant.objects.filter(user__username="outsider").exists()
    # An annotator is not a researcher either.
    annotator = world.ann_1.user.username
    response = world.client("admin").post(
        URL, {"campaign": "alpha", "user": annotator}, format="json"
    )
    assert response.status_code == 400


def test_unknown_campaign_or_user_is_a_field_error(world):
    admin = world.client("admin")
    response = admin.post(URL, {"campaign": "nope", "user": "res_a"}, format="json")
    assert response.status_code == 400 and "campaign" in response.json()
    response = admin.post(URL, {"campaign": "alpha", "user": "ghost"}, format="json")
    assert response.status_code == 400 and "user" in response.json()


def test_the_schema_documents_200_201_and_400(world):
    schema = world.client("admin").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200, schema.content[:300]
    post = schema.json()["paths"][URL]["post"]
    assert {"200", "201", "400"} <= set(post["responses"])
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/GrantCreate")
