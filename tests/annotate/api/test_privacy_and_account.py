"""An annotator's own data (download, delete), tokens page, and the exports afterwards."""

from __future__ import annotations

import json

from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import Annotation, Annotator, ProfileVersion
from annotate.services.privacy import annotator_data_delete


def _raw(world):
    response = world.client("res_a").get("/api/v1/campaigns/alpha/export?shape=raw")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    return [json.loads(line) for line in lines]


def test_annotator_downloads_own_data(world):
    response = world.client("ann_1").get("/api/v1/me/data")
    assert response.status_code == 200
    data = response.json()
    assert data["annotator_id"] == world.ann_1.pseudonym
    assert len(data["annotations"]) == 5
    assert data["profiles"][0]["residence_country"] == "GB"
    assert all(a["campaign__slug"] == "alpha" for a in data["annotations"])


def test_delete_requires_confirmation(world):
    client = world.client("ann_1")
    assert client.post("/api/v1/me/data/delete", {}, format="json").status_code == 400
    assert (
        client.post("/api/v1/me/data/delete", {"confirm": False}, format="json").status_code == 400
    )
    assert (
        client.post("/api/v1/me/data/delete", {"confirm": "sure?"}, format="json").status_code
        == 400
    )
    assert ProfileVersion.objects.filter(annotator=world.ann_1).exists()


def test_deletion_removes_profile_and_pseudonymises_labels_in_exports(world):
    old = world.ann_1.pseudonym
    before = _raw(world)
    assert sum(r["annotator_id"] == old for r in before) == 5
    response = world.client("ann_1").post(
        "/api/v1/me/data/delete", {"confirm": True}, format="json"
    )
    assert response.status_code == 200
    new = response.json()["annotator_id"]
    assert new != old
    annotator = Annotator.objects.get(pk=world.ann_1.pk)
    assert annotator.deleted_at is not None and annotator.current_profile is None
    assert not ProfileVersion.objects.filter(annotator=annotator).exists()
    assert Annotation.objects.filter(annotator=annotator).count() == 5  # labels kept
    after = _raw(world)
    assert not any(r["annotator_id"] == old for r in after)
    mine = [r for r in after if r["annotator_id"] == new]
    assert len(mine) == 5
    assert all(r["profile_version"] is None for r in mine)
    assert all(r["profile_age_band"] is None for r in mine)
    # ann_2 alone is now below k=2 for age band: suppressed too.
    assert {r["profile_age_band"] for r in after} == {None}
    # Annotator profiles endpoint says so.
    listing = world.client("res_a").get("/api/v1/campaigns/alpha/annotators/").json()
    deleted = next(r for r in listing["results"] if r["annotator_id"] == new)
    assert deleted["deleted"] is True and deleted["profile_version"] is None
    # No further tasks for a deleted annotator.
    import pytest

    from annotate.services import AnnotatorPaused, assignment_next
    from tests.factories import ItemFactory

    ItemFactory(campaign=world.alpha)
    with pytest.raises(AnnotatorPaused):
        assignment_next(annotator=annotator, campaign=world.alpha)
    # Idempotent.
    again = annotator_data_delete(annotator=annotator)
    assert again.deleted_at == annotator.deleted_at


def test_annotator_profiles_respect_privacy(world):
    world.alpha.config = {
        "privacy": {"profile_fields": ["age_band", "residence_country"], "k_anonymity": 2}
    }
    world.alpha.save()
    data = world.client("res_a").get("/api/v1/campaigns/alpha/annotators/").json()
    assert data["k_anonymity"] == 2
    assert data["profile_fields"] == ["age_band", "residence_country"]
    profiles = {r["annotator_id"]: r["profile"] for r in data["results"]}
    assert set(profiles) == {world.ann_1.pseudonym, world.ann_2.pseudonym}
    for profile in profiles.values():
        assert profile == {"age_band": "25-34", "residence_country": None}


def test_bad_privacy_config_is_refused(world):
    client = world.client("admin")
    response = client.patch(
        "/api/v1/campaigns/alpha/configure/",
        {"config": {"privacy": {"profile_fields": ["shoe_size"]}}},
        format="json",
    )
    assert response.status_code == 400
    assert "shoe_size" in json.dumps(response.json())


def test_token_page_create_use_revoke(world):
    client = Client()
    client.force_login(world.res_a)
    page = client.get("/account/tokens/")
    assert page.status_code == 200 and b"You have no token" in page.content
    created = client.post("/account/tokens/", {"action": "create"})
    key = Token.objects.get(user=world.res_a).key
    assert key.encode() in created.content
    api = world.client(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/campaigns/alpha/").status_code == 200
    # Shown once: the next visit shows only the last characters.
    assert key.encode() not in client.get("/account/tokens/").content
    client.post("/account/tokens/", {"action": "revoke"})
    assert not Token.objects.filter(user=world.res_a).exists()
    assert api.get("/api/v1/campaigns/alpha/").status_code == 401
    assert Client().get("/account/tokens/").status_code == 302  # login required


def test_annotator_web_page_deletes_data(world):
    client = Client()
    client.force_login(world.ann_2.user)
    assert client.get("/account/my-data/").status_code == 200
    client.post("/account/my-data/delete", {"confirm": "no"})
    assert Annotator.objects.get(pk=world.ann_2.pk).deleted_at is None
    client.post("/account/my-data/delete", {"confirm": "DELETE"})
    assert Annotator.objects.get(pk=world.ann_2.pk).deleted_at is not None


def test_malformed_json_and_wrong_types_are_400(world):
    client = world.client("admin")
    bad_json = client.generic(
        "POST", "/api/v1/campaigns/create/", "{not json", content_type="application/json"
    )
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["detail"]
    wrong = client.post(
        "/api/v1/campaigns/create/", {"slug": "x y", "name": 5, "overlap": "lots"}, format="json"
    )
    assert wrong.status_code == 400
    assert {"slug", "overlap"} <= set(wrong.json())
    mix = client.post(
        "/api/v1/campaigns/create/",
        {"slug": "ok", "name": "Ok", "task_mix": {"juggling": 1}},
        format="json",
    )
    assert mix.status_code == 400 and "task_mix" in mix.json()
    items = client.post(
        "/api/v1/campaigns/alpha/items/add/",
        {
            "items": [
                {
                    "task_type": "pairwise",
                    "messages": [{"role": "user", "content": "Q"}],
                    "responses": [{"text": "only one"}],
                }
            ]
        },
        format="json",
    )
    assert items.status_code == 400 and "2 responses" in json.dumps(items.json())
    assert client.get("/api/v1/annotations/?cursor=garbage").status_code == 400
    assert client.get("/api/v1/annotations/?page_size=abc").status_code == 200  # DRF default
    assert client.get("/api/v1/annotations/?created_after=31/12/2020").status_code == 400
    assert client.get("/api/v1/annotations/?country=GB").status_code == 400  # no campaign
