"""Simulated annotators through the real HTTP endpoints, then analytics vs the truth.

A live server, a synthetic campaign where every person gets every item (overlap = the
crowd size), people signing up, consenting, filling the survey and working via htmx.
Afterwards: every submitted label is stored exactly once, no item exceeds its overlap,
and the analytics computed from the database (the selector + annotate.analytics)
recover the true model ranking and the true ratings-vs-judgment consistency.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from annotate.models import Annotation, Item
from annotate.services.simulation import (
    simulation_campaign_create,
    simulation_compare,
    simulation_lookup,
)
from annotate.simulation.driver import run_crowd
from annotate.simulation.model import CrowdConfig, draw_people

CONFIG = CrowdConfig(quality=(1.6, 0.3, -1.2), seed=5, rating_off=0.3)


@pytest.mark.django_db(transaction=True)
def test_simulated_crowd_over_http_matches_truth(live_server):
    people = draw_people(CONFIG, 6)
    campaign = simulation_campaign_create(slug="sim-http", n_models=3, n_prompts=4, overlap=6)
    lookup = simulation_lookup(campaign=campaign, config=CONFIG)
    result = run_crowd(
        base_url=live_server.url,
        campaign_slug=campaign.slug,
        people=people,
        config=CONFIG,
        lookup=lookup.__getitem__,
        duration_s=60,
    )
    assert not [p.failure for p in result.people if p.failure]
    assert all(p.finished for p in result.people)
    assert result.errors() == {}
    n_items = campaign.items.count()  # 4 rating + 4 * 3 pairwise
    assert n_items == 16
    submitted = [a for p in result.people for a in p.submitted]
    assert len(submitted) == len(set(submitted)) == 6 * n_items
    stored = Annotation.objects.filter(campaign=campaign)
    assert stored.count() == len(submitted)
    assert set(stored.values_list("assignment_id", flat=True)) == set(submitted)
    assert not Item.objects.filter(campaign=campaign, slots_taken__gt=F("overlap")).exists()
    assert not (
        Annotation.objects.filter(campaign=campaign)
        .values("item")
        .annotate(n=Count("id"))
        .filter(n__gt=6)
        .exists()
    )
    # Every person's profile was stored from their simulated demographics.
    for p in people:
        assert Annotation.objects.filter(
            campaign=campaign,
            annotator__user__username=f"sim-{p.index}",
            profile_version__age_band=p.profile["age_band"],
        ).exists()

    labels = [label for p in result.people for label in p.labels]
    # Stored exactly as the simulated people answered (presentation order resolved).
    stored_payloads = dict(
        Annotation.objects.filter(campaign=campaign).values_list("assignment_id", "payload")
    )
    for label in labels:
        payload = stored_payloads[label.assignment_id]
        if label.task_type == "pairwise":
            assert payload["response_ids"] == label.response_ids, (payload, label)
            assert payload["choice"] == label.answer["choice"], (payload, label)
        else:
            for rid, value in label.answer.items():
                assert payload["ratings"][rid][campaign.overall_attribute] == value, (
                    payload,
                    label,
                )
    cmp = simulation_compare(
        campaign=campaign, config=CONFIG, people=people, labels=labels, lookup=lookup
    )
    print({k: v for k, v in cmp.items() if k != "leaderboard"})  # figures for -s runs
    assert cmp["measured_order"] == cmp["true_order"]
    assert cmp["measured_pairs"] == cmp["true_pairs"] == 6 * 4 * 3
    assert (
        abs(cmp["measured_consistency"] - cmp["true_consistency"]) < 3.5 * cmp["consistency_se"]
    ), cmp
    # Agreement between people, against its own replicate spread.
    assert abs(cmp["measured_agreement"] - cmp["true_agreement"]) < 3.5 * cmp["agreement_se"], cmp


@pytest.mark.django_db(transaction=True)
def test_simulate_command(live_server):
    out = io.StringIO()
    call_command(
        "simulate",
        "--campaign=sim-cmd",
        "--create",
        "--models=3",
        "--prompts=2",
        "--overlap=2",
        "--annotators=2",
        "--duration=30",
        f"--base-url={live_server.url}",
        "--report",
        stdout=out,
    )
    text = out.getvalue()
    match = re.search(r"2 simulated annotators, (\d+) tasks", text)
    assert match, text
    assert int(match.group(1)) == 2 * 8
    assert Annotation.objects.filter(campaign__slug="sim-cmd").count() == 16
    assert "within-annotator consistency" in text


@pytest.mark.django_db(transaction=True)
def test_simulate_command_enters_through_signed_crowd_links(live_server):
    from annotate.models import Annotator

    out = io.StringIO()
    call_command(
        "simulate",
        "--campaign=sim-crowd",
        "--create",
        "--models=2",
        "--prompts=1",
        "--overlap=2",
        "--annotators=2",
        "--duration=30",
        "--crowd-links",
        f"--base-url={live_server.url}",
        stdout=out,
    )
    match = re.search(r"2 simulated annotators, (\d+) tasks", out.getvalue())
    assert match and int(match.group(1)) > 0, out.getvalue()
    crowd = Annotator.objects.filter(external_id__startswith="sim-crowd-")
    assert crowd.count() == 2
    assert all(not a.user.has_usable_password() for a in crowd)
