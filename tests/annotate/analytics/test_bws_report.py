"""Best-worst labels from the database to the report's ``bws`` block and the dashboard."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from annotate.analytics.report import ReportOptions, campaign_report
from annotate.models import Response
from annotate.selectors.analytics import campaign_analytics_data
from modelserve.generation.models import ModelEndpoint
from tests.annotate.analytics.test_campaign_analytics import _annotator, _label, _pair
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_bws_labels_give_counting_scores_and_bradley_terry_per_model():
    campaign = CampaignFactory()
    models = [ModelEndpoint.objects.create(name=n) for n in ("good", "fair", "poor", "bad")]
    people = [_annotator("GB", "25-34") for _ in range(3)]
    for _ in range(4):
        item = ItemFactory(campaign=campaign, task_type="bws", overlap=3)
        ids = _pair(item)
        for rid, model in zip(ids, models, strict=True):
            Response.objects.filter(pk=rid).update(endpoint=model)
        for ann, profile in people:
            shown = list(reversed(ids))  # the order shown does not matter
            _label(item, ann, profile, "bws", {"best": ids[0], "worst": ids[3]}, shown)
    report = campaign_report(campaign_analytics_data(campaign=campaign), ReportOptions(n_boot=30))
    bws = report["bws"]
    assert bws["n_labels"] == 12
    scores = {r["model"]: (r["score"], r["shown"]) for r in bws["counting"]}
    assert scores["good"] == (1.0, 12) and scores["bad"] == (-1.0, 12)
    assert scores["fair"][0] == scores["poor"][0] == 0.0
    assert bws["bradley_terry"][0]["model"] == "good"
    assert bws["bradley_terry"][-1]["model"] == "bad"
    assert bws["n_pairs"] == 12 * 5
    # The dashboard's leaderboard tab shows them.
    html = render_to_string(
        "dashboard/tabs/_leaderboard.html",
        {"data": report, "campaign": campaign, "group_fields": [], "leaderboard_svg": ""},
    )
    assert 'id="bws-scores"' in html and "Best-worst scaling" in html
    assert html.index("<td>good</td>") < html.index("<td>bad</td>")
