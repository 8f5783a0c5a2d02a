"""Eligibility rules and demographic quotas (annotate.services.eligibility)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Assignment, CampaignAdmission, TaskType
from annotate.services.eligibility import (
    NotEligible,
    QuotaFull,
    campaign_admit,
    eligibility_check,
    quota_cell,
    quota_status,
)
from tests.annotate.ui_helpers import campaign_with, client_for, onboarded_annotator

pytestmark = pytest.mark.django_db

QUOTAS = {"fields": ["residence_country", "age_band"], "cells": {"GB|25-34": 1, "US|25-34": 2}}


def test_eligibility_rules():
    campaign = campaign_with(
        TaskType.PAIRWISE,
        config={"eligibility": {"residence_country": ["GB", "US"], "use_cases": ["coding"]}},
    )
    ok = onboarded_annotator(residence_country="US", use_cases=["coding", "fun"])
    wrong_country = onboarded_annotator(residence_country="FR", use_cases=["coding"])
    wrong_use = onboarded_annotator(residence_country="GB", use_cases=["fun"])
    assert eligibility_check(campaign=campaign, profile=ok.current_profile) is None
    assert eligibility_check(campaign=campaign, profile=wrong_country.current_profile)
    assert eligibility_check(campaign=campaign, profile=wrong_use.current_profile)
    with pytest.raises(NotEligible):
        campaign_admit(campaign=campaign, annotator=wrong_country)
    assert campaign_admit(campaign=campaign, annotator=ok).cell == ""


def test_quota_cells_fill_and_stop_admitting_new_participants():
    campaign = campaign_with(TaskType.PAIRWISE, config={"quotas": QUOTAS})
    first = onboarded_annotator(residence_country="GB", age_band="25-34")
    second = onboarded_annotator(residence_country="GB", age_band="25-34")
    assert quota_cell(campaign=campaign, profile=first.current_profile) == "GB|25-34"
    assert campaign_admit(campaign=campaign, annotator=first).cell == "GB|25-34"
    with pytest.raises(QuotaFull):
        campaign_admit(campaign=campaign, annotator=second)
    # Already admitted participants keep their place, even after a profile change.
    first.current_profile.residence_country = "FR"
    first.current_profile.save()
    assert campaign_admit(campaign=campaign, annotator=first).cell == "GB|25-34"
    status = quota_status(campaign=campaign)
    assert status["GB|25-34"] == {"target": 1, "filled": 1}
    assert status["US|25-34"] == {"target": 2, "filled": 0}


def test_unlisted_cell_admits_nobody():
    campaign = campaign_with(TaskType.PAIRWISE, config={"quotas": QUOTAS})
    outsider = onboarded_annotator(residence_country="DE", age_band="25-34")
    with pytest.raises(QuotaFull):
        campaign_admit(campaign=campaign, annotator=outsider)
    assert not CampaignAdmission.objects.exists()


def test_participant_outside_quota_is_told_and_gets_no_tasks():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"quotas": QUOTAS})
    inside = onboarded_annotator(residence_country="GB", age_band="25-34")
    r = client_for(inside).get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code == 200 and Assignment.objects.filter(annotator=inside).count() == 1
    late = onboarded_annotator(residence_country="GB", age_band="25-34")
    r = client_for(late).get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code == 403
    assert "has all the participants it needs from your group" in r.content.decode()
    assert not Assignment.objects.filter(annotator=late).exists()
    # The admitted participant keeps working.
    assert client_for(inside).get(reverse("campaign_work", args=[campaign.slug])).status_code == 200


def test_ineligible_participant_is_told_through_the_page():
    campaign = campaign_with(TaskType.PAIRWISE, config={"eligibility": {"age_band": ["18-24"]}})
    annotator = onboarded_annotator(age_band="45-54")
    r = client_for(annotator).get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code == 403 and "different profile" in r.content.decode()
    assert not Assignment.objects.exists()
