"""Sign up, crowd join links, consent, the profile survey and its versions."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from annotate.models import Annotator, Assignment, Consent, ProfileVersion, TaskType
from annotate.services.crowd_links import join_signature
from tests.annotate.ui_helpers import (
    PROFILE_POST,
    campaign_with,
    client_for,
    give_consent,
    onboarded_annotator,
)
from tests.factories import AnnotatorFactory

pytestmark = pytest.mark.django_db


def test_signup_creates_annotator_and_goes_to_consent():
    client = Client()
    r = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!"},
    )
    assert r.status_code in (302, 303) and r["Location"].startswith(reverse("consent"))
    user = get_user_model().objects.get(username="newbie")
    assert Annotator.objects.filter(user=user).exists()


def test_signup_bad_password_shows_error():
    r = Client().post(reverse("signup"), {"username": "x", "password1": "a", "password2": "b"})
    assert r.status_code == 400
    assert "password" in r.content.decode().lower()
    assert not get_user_model().objects.filter(username="x").exists()


def test_consent_stores_version_timestamp_and_text_hash():
    annotator = AnnotatorFactory()
    client = client_for(annotator)
    page = client.get(reverse("consent"))
    assert page.status_code == 200
    doc = page.context["document"]
    r = client.post(
        reverse("consent"),
        {"version": doc.version, "text_sha256": doc.sha256, "agree": "on", "next": "/"},
    )
    assert r.status_code in (302, 303) and r["Location"].startswith(reverse("profile_edit"))
    consent = Consent.objects.get(annotator=annotator)
    assert consent.version == doc.version
    assert consent.text_sha256 == hashlib.sha256(doc.text.encode()).hexdigest()
    assert consent.given_at is not None


def test_consent_without_ticking_is_refused():
    annotator = AnnotatorFactory()
    client = client_for(annotator)
    doc = client.get(reverse("consent")).context["document"]
    r = client.post(reverse("consent"), {"version": doc.version, "text_sha256": doc.sha256})
    assert r.status_code == 400 and "Tick the box" in r.content.decode()
    assert not Consent.objects.exists()


def test_consent_for_outdated_text_is_refused():
    annotator = AnnotatorFactory()
    client = client_for(annotator)
    r = client.post(
        reverse("consent"), {"version": "site-1", "text_sha256": "0" * 64, "agree": "on"}
    )
    assert r.status_code == 200 and "updated" in r.content.decode()
    assert not Consent.objects.exists()


def test_campaign_consent_text_is_versioned_per_campaign():
    campaign = campaign_with(
        TaskType.PAIRWISE, config={"consent": {"version": "v7", "text": "Study <b>specific</b>."}}
    )
    annotator = onboarded_annotator()  # has the site consent only
    client = client_for(annotator)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code in (302, 303) and r["Location"] == reverse(
        "campaign_consent", args=[campaign.slug]
    )
    page = client.get(r["Location"]).content.decode()
    assert "Study &lt;b&gt;specific&lt;/b&gt;." in page and "Version v7" in page
    assert not Assignment.objects.exists()  # no consent, no tasks
    sha = hashlib.sha256(b"Study <b>specific</b>.").hexdigest()
    client.post(
        reverse("campaign_consent", args=[campaign.slug]),
        {"version": "v7", "text_sha256": sha, "agree": "on"},
    )
    assert Consent.objects.filter(annotator=annotator, campaign=campaign, version="v7").exists()
    assert client.get(reverse("campaign_work", args=[campaign.slug])).status_code == 200
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_no_consent_means_no_tasks():
    campaign = campaign_with(TaskType.PAIRWISE)
    annotator = AnnotatorFactory()
    r = client_for(annotator).get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code in (302, 303) and "consent" in r["Location"]
    assert not Assignment.objects.exists()


def test_profile_needed_before_tasks_and_saved_as_version_1():
    campaign = campaign_with(TaskType.PAIRWISE)
    annotator = AnnotatorFactory()
    give_consent(annotator)
    client = client_for(annotator)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert r["Location"].startswith(reverse("profile_edit"))
    nxt = reverse("campaign_work", args=[campaign.slug])
    r = client.post(reverse("profile_edit"), {**PROFILE_POST, "next": nxt})
    assert r.status_code in (302, 303) and r["Location"] == nxt
    annotator.refresh_from_db()
    profile = annotator.current_profile
    assert profile.version == 1 and profile.use_cases == ["writing", "coding"]
    assert profile.pref_helpfulness == 95 and profile.system_prompt == "Be brief and cite sources."


def test_profile_requires_consent_first():
    annotator = AnnotatorFactory()
    r = client_for(annotator).get(reverse("profile_edit"))
    assert r.status_code in (302, 303) and r["Location"].startswith(reverse("consent"))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"gender": "self_describe", "gender_self_describe": ""},
            "gender_self_describe",
            "describe",
        ),
        ({"pref_safety": "101"}, "pref_safety", "less than or equal to 100"),
        ({"pref_safety": ""}, "pref_safety", "required"),
        ({"age_band": "12-17"}, "age_band", "valid choice"),
        ({"birth_country": "XX"}, "birth_country", "valid choice"),
        ({"self_description": ""}, "self_description", "required"),
        ({"ai_frequency": "never"}, "use_cases", "never use"),
    ],
)
def test_profile_validation(change, field, message):
    annotator = AnnotatorFactory()
    give_consent(annotator)
    r = client_for(annotator).post(reverse("profile_edit"), {**PROFILE_POST, **change})
    assert r.status_code == 400
    form = r.context["form"]
    assert field in form.errors and message in str(form.errors[field])
    assert not ProfileVersion.objects.exists()
    # What was typed stays in the form.
    assert "I value honesty and kindness." in r.content.decode() or field == "self_description"


def test_prefer_not_to_say_and_self_describe_are_accepted():
    annotator = AnnotatorFactory()
    give_consent(annotator)
    data = {
        **PROFILE_POST,
        "age_band": "prefer_not_to_say",
        "birth_country": "ZZ",
        "religion": "prefer_not_to_say",
        "ethnicity": "self_describe",
        "ethnicity_self_describe": "Cornish",
        "gender": "male",
        "gender_self_describe": "ignored when not chosen",
    }
    r = client_for(annotator).post(reverse("profile_edit"), data)
    assert r.status_code in (302, 303)
    p = ProfileVersion.objects.get()
    assert (p.age_band, p.birth_country, p.ethnicity_self_describe) == (
        "prefer_not_to_say",
        "ZZ",
        "Cornish",
    )
    assert p.gender_self_describe == ""


def test_profile_edit_creates_new_version_and_old_labels_keep_theirs():
    annotator = onboarded_annotator()
    client = client_for(annotator)
    first = annotator.current_profile
    page = client.get(reverse("profile")).content.decode()
    assert "Version 1" in page
    edit_page = client.get(reverse("profile_edit"))
    assert edit_page.context["form"].initial["residence_country"] == "GB"
    client.post(reverse("profile_edit"), {**PROFILE_POST, "residence_country": "US"})
    annotator.refresh_from_db()
    assert annotator.current_profile.version == 2
    assert annotator.current_profile.residence_country == "US"
    first.refresh_from_db()
    assert first.residence_country == "GB"  # versions are never rewritten


def _sig(campaign, pid):
    return join_signature(campaign=campaign, participant_id=pid)


def test_join_link_creates_passwordless_account_and_logs_in():
    campaign = campaign_with(TaskType.PAIRWISE, config={"completion_code": "C0DE42"})
    client = Client()
    sig = _sig(campaign, "5f1a2b3c4d")
    r = client.get(
        f"/join/{campaign.slug}/?PROLIFIC_PID=5f1a2b3c4d&STUDY_ID=study9&SESSION_ID=s&sig={sig}"
    )
    assert r.status_code in (302, 303) and r["Location"] == reverse(
        "campaign_work", args=[campaign.slug]
    )
    annotator = Annotator.objects.get(external_id="5f1a2b3c4d")
    assert annotator.study_id == "study9"
    assert not annotator.user.has_usable_password()
    assert "5f1a2b3c4d" not in annotator.user.username
    # Logged in: the next stop is consent.
    assert "consent" in client.get(r["Location"])["Location"]
    # The same link again finds the same account.
    Client().get(f"/join/{campaign.slug}/?PROLIFIC_PID=5f1a2b3c4d&STUDY_ID=study9&sig={sig}")
    assert Annotator.objects.filter(external_id="5f1a2b3c4d").count() == 1


def test_join_parameter_names_are_configurable():
    campaign = campaign_with(
        TaskType.PAIRWISE, config={"participant_param": "workerId", "study_param": "hitId"}
    )
    r = Client().get(f"/join/{campaign.slug}/?workerId=W123&hitId=H9&sig={_sig(campaign, 'W123')}")
    assert r.status_code in (302, 303)
    assert Annotator.objects.get(external_id="W123").study_id == "H9"


@pytest.mark.parametrize("query", ["", "?PROLIFIC_PID=", "?PROLIFIC_PID=<script>"])
def test_join_without_valid_id_is_refused(query):
    campaign = campaign_with(TaskType.PAIRWISE)
    r = Client().get(f"/join/{campaign.slug}/{query}")
    assert r.status_code == 400 and "participant id" in r.content.decode()
    assert not Annotator.objects.exists()


def test_join_never_opens_a_password_account():
    campaign = campaign_with(TaskType.PAIRWISE)
    Client().get(f"/join/{campaign.slug}/?PROLIFIC_PID=abc&sig={_sig(campaign, 'abc')}")
    user = Annotator.objects.get(external_id="abc").user
    user.set_password("now-protected-123")
    user.save()
    r = Client().get(f"/join/{campaign.slug}/?PROLIFIC_PID=abc&sig={_sig(campaign, 'abc')}")
    assert r.status_code == 400


def test_completion_code_shown_at_the_end():
    campaign = campaign_with(
        TaskType.PAIRWISE,
        config={
            "completion_code": "C0DE42",
            "completion_url": "https://example.org/done?cc={code}",
        },
    )
    annotator = onboarded_annotator()
    client = client_for(annotator)
    # Before finishing there is no code.
    assert (
        "C0DE42" not in client.get(reverse("campaign_done", args=[campaign.slug])).content.decode()
    )
    client.get(reverse("campaign_work", args=[campaign.slug]))
    a = Assignment.objects.get(annotator=annotator)
    r = client.post(reverse("task_submit", args=[a.pk]), {"choice": "A"}, follow=True)
    body = r.content.decode()
    assert "C0DE42" in body and "https://example.org/done?cc=C0DE42" in body


def test_max_tasks_per_annotator_ends_the_session():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"max_tasks_per_annotator": 1})
    annotator = onboarded_annotator()
    client = client_for(annotator)
    client.get(reverse("campaign_work", args=[campaign.slug]))
    a = Assignment.objects.get(annotator=annotator)
    r = client.post(reverse("task_submit", args=[a.pk]), {"choice": "A"}, HTTP_HX_REQUEST="true")
    assert "Thank you!" in r.content.decode()
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_home_lists_campaigns_for_annotators_and_links_for_staff():
    campaign = campaign_with(TaskType.PAIRWISE)
    hidden = campaign_with(TaskType.PAIRWISE, config={"listed": False})
    annotator = onboarded_annotator()
    body = client_for(annotator).get("/").content.decode()
    assert campaign.name in body and reverse("campaign_work", args=[campaign.slug]) in body
    assert hidden.name not in body
    staff = get_user_model().objects.create_user("boss", password="pw-12345678", is_staff=True)
    client = Client()
    client.force_login(staff)
    body = client.get("/").content.decode()
    assert "/dashboard/" in body and reverse("admin:index") in body
