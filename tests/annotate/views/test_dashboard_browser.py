"""The analytics dashboard in Chromium on a study of realistic size: every tab renders, the
inconsistent cases page through, and no page is a scroll marathon.

Screenshots of every tab go to test-artifacts/dashboard-<tab>.png; each tab's page height
in CSS pixels goes to test-artifacts/dashboard-heights.json.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from django.test import Client

from annotate.models import Annotation, AssignmentStatus, TaskType
from annotate.services.analytics import analytics_snapshot_compute
from annotate.services.simulation import simulation_campaign_create
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import AnnotatorFactory, AssignmentFactory, ProfileVersionFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
COUNTRIES = ["GB", "US", "FR", "DE", "IN", "BR"]
TABS = ["progress", "agreement", "consistency", "cases", "annotators", "leaderboard", "people"]
MAX_HEIGHT_PX = 2600  # a 1200 x 900 window: under three screens per tab


def _labelled_study():
    """4 models, 10 prompts (10 rating items, 60 pairwise items), 24 annotators from six
    countries with quota targets; each labels everything, noisily, so ratings and
    choices disagree often (hundreds of inconsistent cases)."""
    campaign = simulation_campaign_create(slug="dash", n_models=4, n_prompts=10, overlap=24)
    campaign.config = {
        "quotas": {"fields": ["residence_country"], "cells": {c: 4 for c in COUNTRIES}},
        "analytics": {"n_boot": 50},
    }
    campaign.save(update_fields=["config"])
    rng = random.Random(7)
    items = list(campaign.items.prefetch_related("item_responses"))
    for n in range(24):
        annotator = AnnotatorFactory()
        profile = ProfileVersionFactory(
            annotator=annotator, residence_country=COUNTRIES[n % len(COUNTRIES)]
        )
        annotator.current_profile = profile
        annotator.save(update_fields=["current_profile"])
        rows = []
        for item in items:
            ids = [ir.response_id for ir in item.item_responses.all()]
            assignment = AssignmentFactory(
                item=item,
                annotator=annotator,
                presented_order=ids,
                status=AssignmentStatus.SUBMITTED,
            )
            if item.task_type == TaskType.RATING:
                payload = {"ratings": {str(r): {"helpfulness": rng.randint(1, 7)} for r in ids}}
            else:
                a, b = ids
                chosen, rejected = (a, b) if rng.random() < 0.6 else (b, a)
                payload = {
                    "choice": "A" if chosen == a else "B",
                    "strength": rng.choice([-2, -1, 1, 2]),
                    "reason": "",
                    "response_ids": [a, b],
                    "chosen": chosen,
                    "rejected": rejected,
                }
            rows.append(
                Annotation(
                    assignment=assignment,
                    item=item,
                    campaign=campaign,
                    annotator=annotator,
                    task_type=item.task_type,
                    payload=payload,
                    time_spent_ms=rng.randint(3000, 40000),
                    profile_version=profile,
                )
            )
        Annotation.objects.bulk_create(rows)
    snapshot = analytics_snapshot_compute(campaign_id=campaign.pk)
    assert snapshot is not None and snapshot.data["consistency"]["cases"]
    return campaign, snapshot


@pytest.mark.browser
@pytest.mark.slow
def test_every_tab_fits_a_few_screens(live_server, transactional_db, monkeypatch):
    from playwright import sync_api as playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    campaign, snapshot = _labelled_study()
    n_cases = len(snapshot.data["consistency"]["cases"])
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    ARTIFACTS.mkdir(exist_ok=True)
    heights: dict[str, int] = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": staff.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        base = f"{live_server.url}/dashboard/{campaign.slug}/"
        page.goto(f"{live_server.url}/dashboard/")
        assert page.locator(f"a[href='/dashboard/{campaign.slug}/']").count() == 1
        for tab in TABS:
            page.goto(f"{base}?tab={tab}")
            page.wait_for_load_state("networkidle")
            panel = page.locator("#dash-panel")
            assert panel.get_attribute("data-tab") == tab
            current = page.locator("nav.dash-tabs a[aria-current='page']")
            assert current.count() == 1 and current.get_attribute("href") == f"?tab={tab}"
            heights[tab] = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{tab}.png"), full_page=True)
        # The cases page through, ten at a time, without reloading the page.
        page.goto(f"{base}?tab=cases")
        assert page.locator("#cases .case").count() == min(10, n_cases)
        assert f"{n_cases} inconsistent cases" in page.locator("#cases").inner_text()
        page.locator("#cases nav.pager a", has_text="next").click()
        page.wait_for_selector("#cases[data-page='2']")
        assert page.locator("#cases .case").count() == min(10, n_cases - 10)
        # A case opens to show the prompt and both responses.
        first = page.locator("#cases .case").first
        first.locator("summary").click()
        assert first.locator(".case-pair").is_visible()
        context.close()
        browser.close()
    (ARTIFACTS / "dashboard-heights.json").write_text(json.dumps(heights, indent=2))
    assert errors == []
    assert max(heights.values()) <= MAX_HEIGHT_PX, heights
