"""The campaign gate's memory (annotate.services.gates): passes are cached per annotator
and forgotten as soon as consent, profile, admission or the consent text change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Annotator, CampaignAdmission, Consent, TaskType
from annotate.selectors.onboarding import consent_document
from annotate.services.gates import gate_passed
from tests.annotate.ui_helpers import campaign_with, client_for, give_consent, onboarded_annotator

pytestmark = pytest.mark.django_db

QUOTAS = {"fields": ["residence_country", "age_band"], "cells": {"GB|25-34": 1}}


def _work(client, campaign):
    return client.get(reverse("campaign_work", args=[campaign.slug]))


def _gate_queries(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured
        if '"annotate_consent"' in q["sql"] or '"annotate_campaignadmission"' in q["sql"]
    ]


def test_a_passed_gate_is_remembered_and_costs_no_query(django_assert_max_num_queries):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3)
    annotator = onboarded_annotator()
    client = client_for(annotator)
    assert _work(client, campaign).status_code == 200
    assert gate_passed(
        annotator=annotator, campaign=campaign, document=consent_document(campaign=campaign)
    )
    with django_assert_max_num_queries(20) as captured:
        assert _work(client, campaign).status_code == 200
    assert _gate_queries(captured.captured_queries) == []


def test_withdrawn_consent_is_seen_at_once():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3)
    annotator = onboarded_annotator()
    client = client_for(annotator)
    assert _work(client, campaign).status_code == 200
    Consent.objects.filter(annotator=annotator).delete()
    r = _work(client, campaign)
    assert r.status_code == 302 and "/consent/" in r["Location"]
    give_consent(annotator)
    assert _work(client, campaign).status_code == 200


def test_a_new_consent_text_asks_for_consent_again():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3)
    annotator = onboarded_annotator()
    client = client_for(annotator)
    assert _work(client, campaign).status_code == 200
    campaign.config = {**campaign.config, "consent": {"version": "2", "text": "New terms."}}
    campaign.save(update_fields=["config"])
    r = _work(client, campaign)
    assert r.status_code == 302 and "/consent/" in r["Location"]


def test_a_profile_that_is_gone_is_seen_at_once():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3)
    annotator = onboarded_annotator()
    client = client_for(annotator)
    assert _work(client, campaign).status_code == 200
    Annotator.objects.filter(pk=annotator.pk).update(current_profile=None)
    r = _work(client, campaign)
    assert r.status_code == 302 and "/profile/" in r["Location"]


def test_a_raised_quota_admits_a_refused_participant_at_once():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"quotas": QUOTAS})
    first = onboarded_annotator(residence_country="GB", age_band="25-34")
    assert _work(client_for(first), campaign).status_code == 200
    late = onboarded_annotator(residence_country="GB", age_band="25-34")
    client = client_for(late)
    assert _work(client, campaign).status_code == 403
    campaign.config = {**campaign.config, "quotas": {**QUOTAS, "cells": {"GB|25-34": 2}}}
    campaign.save(update_fields=["config"])
    assert _work(client, campaign).status_code == 200


def test_a_removed_admission_is_checked_again():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"quotas": QUOTAS})
    first = onboarded_annotator(residence_country="GB", age_band="25-34")
    client = client_for(first)
    assert _work(client, campaign).status_code == 200
    # An admin removes the admission and gives the cell's only place to someone else.
    CampaignAdmission.objects.filter(annotator=first).delete()
    other = onboarded_annotator(residence_country="GB", age_band="25-34")
    assert _work(client_for(other), campaign).status_code == 200
    assert _work(client, campaign).status_code == 403
