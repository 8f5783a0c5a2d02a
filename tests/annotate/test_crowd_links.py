"""Crowd join links with a secret: a participant id alone is not a credential, and a
crowd participant's data is read or deleted only with their signed link."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import Annotator, Campaign, TaskType
from annotate.services.crowd_links import (
    SESSION_KEY,
    join_link,
    join_signature,
    join_study_key,
    signature_valid,
)
from tests.annotate.ui_helpers import campaign_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PID = "5f1a2b3c4d5e6f7a8b9c0d1e"


def _join(client: Client, campaign: Campaign, query: str) -> Any:
    return client.get(f"/join/{campaign.slug}/?{query}")


def _signed(campaign: Campaign, pid: str = PID) -> str:
    return join_link(campaign=campaign, participant_id=pid, study_id="s1")


def test_a_bare_participant_id_is_refused():
    campaign = campaign_with(TaskType.PAIRWISE)
    for query in (
        f"PROLIFIC_PID={PID}",
        f"PROLIFIC_PID={PID}&sig=",
        f"PROLIFIC_PID={PID}&sig={'0' * 32}",
        f"PROLIFIC_PID={PID}&sig={join_signature(campaign=campaign, participant_id='other')}",
        f"PROLIFIC_PID={PID}&key={join_study_key(campaign=campaign)}",  # study key is off
    ):
        response = _join(Client(), campaign, query)
        assert response.status_code == 403, query
        assert "signature" in response.content.decode()
    assert not Annotator.objects.exists()


def test_the_signed_link_admits_and_readmits_its_participant_only():
    campaign = campaign_with(TaskType.PAIRWISE)
    client = Client()
    assert client.get(_signed(campaign)).status_code == 302
    assert Annotator.objects.get(external_id=PID).study_id == "s1"
    # a second browser with the same link: the same account
    assert Client().get(_signed(campaign)).status_code == 302
    assert Annotator.objects.filter(external_id=PID).count() == 1
    # the id without its signature, in another browser: refused
    assert _join(Client(), campaign, f"PROLIFIC_PID={PID}").status_code == 403
    # ... but the participant's own browser session may follow a link without it
    assert _join(client, campaign, f"PROLIFIC_PID={PID}").status_code == 302


def test_signatures_are_per_campaign_and_the_upper_case_form_is_accepted():
    one, two = campaign_with(TaskType.PAIRWISE), campaign_with(TaskType.PAIRWISE)
    sig = join_signature(campaign=one, participant_id=PID)
    assert len(sig) == 32 and signature_valid(
        campaign=one, participant_id=PID, signature=sig.upper()
    )
    assert not signature_valid(campaign=two, participant_id=PID, signature=sig)
    assert not signature_valid(campaign=one, participant_id=PID + "x", signature=sig)


def test_study_key_admits_first_timers_only_and_hands_out_their_own_link():
    campaign = campaign_with(TaskType.PAIRWISE, config={"join_study_key": True})
    key = join_study_key(campaign=campaign)
    client = Client()
    response = _join(client, campaign, f"PROLIFIC_PID={PID}&STUDY_ID=s1&key={key}")
    assert response.status_code == 302
    page = client.get(response["Location"], follow=True).content.decode()
    own = join_signature(campaign=campaign, participant_id=PID)
    assert f"sig={own}" in page  # the personal link, shown once
    # someone else who knows the study key and this id cannot enter as them
    assert _join(Client(), campaign, f"PROLIFIC_PID={PID}&key={key}").status_code == 403
    assert Client().get(_signed(campaign)).status_code == 302


def test_rotating_the_secret_voids_every_link():
    campaign = campaign_with(TaskType.PAIRWISE)
    old = _signed(campaign)
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/annotate/campaign/",
        {"action": "rotate_join_secret", "_selected_action": [campaign.pk]},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert Client().get(old).status_code == 403
    assert Client().get(_signed(campaign)).status_code == 302


# --- data of a crowd participant ------------------------------------------------------


def test_data_pages_need_a_fresh_signed_link(settings):
    campaign = campaign_with(TaskType.PAIRWISE)
    client = Client()
    client.get(_signed(campaign))
    assert client.get("/account/my-data/").status_code == 200
    # an hour later the session alone is not enough
    session = client.session
    session[SESSION_KEY]["at"] = int(time.time()) - settings.CHORUS_CROWD_PROOF_MAX_AGE_S - 1
    session.save()
    refused = client.get("/account/my-data/")
    assert refused.status_code == 403 and "personal study link" in refused.content.decode()
    assert client.post("/account/my-data/delete", {"confirm": "DELETE"}).status_code == 403
    assert Annotator.objects.get(external_id=PID).deleted_at is None
    # the link again (or a fresh one) opens them
    client.get(_signed(campaign))
    assert client.post("/account/my-data/delete", {"confirm": "DELETE"}).status_code == 302
    assert Annotator.objects.get(user__username__startswith="p_").deleted_at is not None


def test_study_key_sessions_must_open_the_signed_link_before_the_data(settings):
    campaign = campaign_with(TaskType.PAIRWISE, config={"join_study_key": True})
    client = Client()
    _join(client, campaign, f"PROLIFIC_PID={PID}&key={join_study_key(campaign=campaign)}")
    assert client.get("/account/my-data/").status_code == 403
    client.get(_signed(campaign))
    assert client.get("/account/my-data/").status_code == 200


def test_api_data_of_a_crowd_account_needs_the_links_signature():
    campaign = campaign_with(TaskType.PAIRWISE)
    Client().get(_signed(campaign))
    user = Annotator.objects.get(external_id=PID).user
    token, _ = Token.objects.get_or_create(user=user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/data").status_code == 403
    sig = join_signature(campaign=campaign, participant_id=PID)
    assert api.get(f"/api/v1/me/data?campaign={campaign.slug}&sig={'1' * 32}").status_code == 403
    assert api.get(f"/api/v1/me/data?campaign={campaign.slug}&sig={sig}").status_code == 200
    refused = api.post("/api/v1/me/data/delete", {"confirm": True}, content_type="application/json")
    assert refused.status_code == 403
    done = api.post(
        "/api/v1/me/data/delete",
        {"confirm": True, "campaign": campaign.slug, "sig": sig},
        content_type="application/json",
    )
    assert done.status_code == 200


def test_password_accounts_keep_their_data_access(client):
    from tests.annotate.ui_helpers import onboarded_annotator

    annotator = onboarded_annotator()
    client.force_login(annotator.user)
    assert client.get("/account/my-data/").status_code == 200


# --- building links -------------------------------------------------------------------


def test_api_signs_links_for_admins_only():
    campaign = campaign_with(TaskType.PAIRWISE)
    admin = UserFactory(is_staff=True)
    token, _ = Token.objects.get_or_create(user=admin)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"participants": ["p-1", "p-2"], "study_id": "st"}
    response = api.post(
        f"/api/v1/campaigns/{campaign.slug}/join-links/", body, content_type="application/json"
    )
    assert response.status_code == 200
    links = response.json()
    assert [row["participant"] for row in links] == ["p-1", "p-2"]
    assert links[0]["url"].startswith("http://testserver/join/")
    assert Client().get(links[1]["url"]).status_code == 302
    bad = api.post(
        f"/api/v1/campaigns/{campaign.slug}/join-links/",
        {"participants": ["<script>"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "participants" in bad.json()
    other = UserFactory()
    token, _ = Token.objects.get_or_create(user=other)
    assert Client(HTTP_AUTHORIZATION=f"Token {token.key}").post(
        f"/api/v1/campaigns/{campaign.slug}/join-links/", body, content_type="application/json"
    ).status_code in (403, 404)


def test_admin_shows_platform_links_and_signs_a_list():
    campaign = campaign_with(TaskType.PAIRWISE)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/annotate/campaign/{campaign.pk}/change/").content.decode()
    assert "Crowd links" in page and "{{%PROLIFIC_PID%}}" in page and "ExternalQuestion" in page
    assert campaign.join_secret not in page  # the secret itself is never shown
    url = f"/admin/annotate/campaign/{campaign.pk}/join-links/"
    assert client.get(url).status_code == 200
    signed = client.post(url, {"participants": "a-1\nb-2\n", "study_id": "st"}).content.decode()
    assert join_signature(campaign=campaign, participant_id="b-2") in signed
    csv = client.post(url, {"participants": "a-1", "csv": "1"})
    assert csv["Content-Type"] == "text/csv" and b"participant,url" in csv.content
    refused = client.post(url, {"participants": "not ok!"}).content.decode()
    assert "Not a participant id" in refused


def test_seed_demo_prints_a_working_link():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if "crowd join link" in x)
    path = line.rsplit(" ", 1)[-1]
    assert Client().get(path).status_code == 302
    assert Client().get(path.split("&sig=")[0]).status_code == 403
