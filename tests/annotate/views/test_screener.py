"""Crowd screening: questions for eligibility and quotas come before the rest of the
profile; a refused participant goes to the platform's screen-out URL; a finished one to
its completion URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment, CampaignAdmission, ProfileVersion, TaskType
from tests.annotate.ui_helpers import (
    HX,
    PROFILE_POST,
    campaign_with,
    client_for,
    give_consent,
    onboarded_annotator,
)
from tests.factories import AnnotatorFactory

pytestmark = pytest.mark.django_db

SCREEN_OUT = "https://app.prolific.com/submissions/complete?cc=NOTFORYOU"
COMPLETE = "https://app.prolific.com/submissions/complete?cc=C0MPL3TE"
CONFIG = {
    "eligibility": {"residence_country": ["GB", "US"]},
    "quotas": {"fields": ["age_band"], "cells": {"25-34": 1, "35-44": 5}},
    "screen_out_code": "NOTFORYOU",
    "screen_out_url": "https://app.prolific.com/submissions/complete?cc={code}",
    "completion_code": "C0MPL3TE",
    "completion_url": "https://app.prolific.com/submissions/complete?cc={code}",
    "completion_redirect": True,
}


@pytest.fixture
def campaign():
    return campaign_with(TaskType.PAIRWISE, config=CONFIG)


def _sent_to(response, url: str) -> bool:
    """A plain page reaches the platform through a same-site page that refreshes to it
    (the CSP's form-action would block a 302 after a form); htmx by HX-Redirect."""
    if response.get("HX-Redirect"):
        return response["HX-Redirect"] == url
    body = response.content.decode()
    return response.status_code == 200 and f'content="0;url={url}"' in body and url in body


def _newcomer(campaign):
    """Consented (site and campaign consent), no profile yet."""
    annotator = AnnotatorFactory()
    give_consent(annotator)
    give_consent(annotator, campaign)
    return annotator, client_for(annotator)


def test_the_campaign_page_asks_the_screener_first(campaign):
    _, client = _newcomer(campaign)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code == 302
    assert r["Location"] == reverse("campaign_screen", args=[campaign.slug])
    page = client.get(r["Location"]).content.decode()
    assert 'name="residence_country"' in page and 'name="age_band"' in page
    # Only the screening questions: none of the rest of the profile.
    assert 'name="religion"' not in page and 'name="system_prompt"' not in page


@pytest.mark.parametrize(
    "answers",
    [
        {"residence_country": "FR", "age_band": "35-44"},
        {"residence_country": "GB", "age_band": "18-24"},
    ],
    ids=["not-eligible", "cell-not-recruited"],
)
def test_screened_out_goes_to_the_platform_and_never_sees_the_profile(campaign, answers):
    annotator, client = _newcomer(campaign)
    r = client.post(reverse("campaign_screen", args=[campaign.slug]), answers, follow=False)
    assert _sent_to(r, SCREEN_OUT)
    assert 'name="religion"' not in r.content.decode()
    # Back on the campaign page they are screened again, never shown the profile form.
    again = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert again["Location"] == reverse("campaign_screen", args=[campaign.slug])
    assert not ProfileVersion.objects.filter(annotator=annotator).exists()
    assert not CampaignAdmission.objects.exists()


def test_a_full_cell_screens_out_at_once(campaign):
    other = onboarded_annotator(age_band="25-34", residence_country="GB")
    CampaignAdmission.objects.create(campaign=campaign, annotator=other, cell="25-34")
    _, client = _newcomer(campaign)
    r = client.post(
        reverse("campaign_screen", args=[campaign.slug]),
        {"residence_country": "GB", "age_band": "25-34"},
        **HX,
    )
    assert r.status_code == 204 and r["HX-Redirect"] == SCREEN_OUT


def test_passing_the_screener_prefills_the_profile_then_admits(campaign):
    annotator, client = _newcomer(campaign)
    r = client.post(
        reverse("campaign_screen", args=[campaign.slug]),
        {"residence_country": "US", "age_band": "35-44"},
    )
    work = reverse("campaign_work", args=[campaign.slug])
    assert r["Location"].startswith(reverse("profile_edit"))
    assert client.get(work)["Location"].startswith(reverse("profile_edit"))
    form = client.get(r["Location"]).content.decode()
    assert '<option value="US" selected>' in form
    assert '<option value="35-44" selected>' in form
    post = {**PROFILE_POST, "residence_country": "US", "age_band": "35-44", "next": work}
    saved = client.post(reverse("profile_edit"), post)
    assert saved["Location"] == work
    assert client.get(work).status_code == 200  # a task
    assert CampaignAdmission.objects.get(annotator=annotator).cell == "35-44"


def test_a_profile_outside_the_rules_is_screened_out_at_admission(campaign):
    annotator = onboarded_annotator(residence_country="FR")
    give_consent(annotator, campaign)
    r = client_for(annotator).get(reverse("campaign_work", args=[campaign.slug]))
    assert _sent_to(r, SCREEN_OUT)


def test_the_last_task_sends_the_participant_to_the_completion_url(campaign):
    annotator = onboarded_annotator(residence_country="GB", age_band="35-44")
    give_consent(annotator, campaign)
    client = client_for(annotator)
    assert client.get(reverse("campaign_work", args=[campaign.slug])).status_code == 200
    assignment = Assignment.objects.get(annotator=annotator)
    r = client.post(reverse("task_submit", args=[assignment.pk]), {"choice": "A"}, **HX)
    assert Annotation.objects.filter(assignment=assignment).exists()
    assert r["HX-Redirect"] == COMPLETE
    done = client.get(reverse("campaign_done", args=[campaign.slug]))
    assert _sent_to(done, COMPLETE)


def test_without_a_screen_out_url_the_refusal_is_a_page(campaign):
    campaign.config = {k: v for k, v in CONFIG.items() if not k.startswith("screen_out")}
    campaign.save(update_fields=["config"])
    _, client = _newcomer(campaign)
    r = client.post(
        reverse("campaign_screen", args=[campaign.slug]),
        {"residence_country": "FR", "age_band": "35-44"},
    )
    assert r.status_code == 403
    assert "different profile" in r.content.decode()


def test_a_bad_answer_is_a_form_error(campaign):
    _, client = _newcomer(campaign)
    r = client.post(reverse("campaign_screen", args=[campaign.slug]), {"residence_country": "XX"})
    assert r.status_code == 400
    assert "error-summary" in r.content.decode()


def test_the_profile_form_on_its_way_to_a_screening_campaign_sends_to_the_screener(campaign):
    # Sign-up -> site consent -> profile?next=/c/<slug>/ must not skip the screener.
    _, client = _newcomer(campaign)
    work = reverse("campaign_work", args=[campaign.slug])
    r = client.get(reverse("profile_edit"), {"next": work})
    assert r["Location"] == reverse("campaign_screen", args=[campaign.slug])
    other = client.get(reverse("profile_edit"), {"next": reverse("home")})
    assert other.status_code == 200  # a profile for no campaign in particular
