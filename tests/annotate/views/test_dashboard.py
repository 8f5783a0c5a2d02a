"""Staff analytics dashboard: pages render for staff and are refused to everyone else."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import escape

from annotate.models import (
    AnalyticsSnapshot,
    Annotation,
    AssignmentStatus,
    CampaignGrant,
    ItemResponse,
)
from annotate.roles import RESEARCHER_GROUP
from annotate.services.analytics import analytics_snapshot_compute
from annotate.views.dashboard_tabs import TABS
from tests.factories import AnnotatorFactory, AssignmentFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(campaign):
    """One annotator who judged A better but rated both responses the same."""
    campaign.config = {"quotas": {"fields": ["residence_country"], "cells": {"GB": 4}}}
    campaign.save(update_fields=["config"])
    ann = AnnotatorFactory()
    item = ItemFactory(campaign=campaign)
    a, b = (
        ItemResponse.objects.filter(item=item)
        .order_by("position")
        .values_list("response_id", flat=True)
    )
    for task_type, payload in (
        (
            "pairwise",
            {
                "choice": "A",
                "strength": None,
                "reason": "",
                "response_ids": [a, b],
                "chosen": a,
                "rejected": b,
            },
        ),
        ("rating", {"ratings": {str(a): {"helpfulness": 4}, str(b): {"helpfulness": 4}}}),
    ):
        target = (
            item
            if task_type == "pairwise"
            else ItemFactory(campaign=campaign, task_type="rating", with_responses__n=1)
        )
        assignment = AssignmentFactory(
            item=target, annotator=ann, presented_order=[a, b], status=AssignmentStatus.SUBMITTED
        )
        Annotation.objects.create(
            assignment=assignment,
            item=target,
            campaign=campaign,
            annotator=ann,
            task_type=task_type,
            payload=payload,
            time_spent_ms=5000,
        )
    return campaign


def _urls(slug: str) -> list[str]:
    return [
        reverse("dashboard:index"),
        reverse("dashboard:campaign", args=[slug]),
        reverse("dashboard:annotators", args=[slug]) + "?sort=median_time_s&dir=asc&q=ann",
        reverse("dashboard:cases", args=[slug]),
        reverse("dashboard:leaderboard", args=[slug]) + "?field=residence_country",
        reverse("dashboard:freshness", args=[slug]),
    ]


def test_staff_sees_every_panel(client, labelled, django_assert_max_num_queries):
    analytics_snapshot_compute(campaign_id=labelled.pk)
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    for url in _urls(labelled.slug):
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("dashboard:campaign", args=[labelled.slug])).content.decode()
    for text in (
        "Progress",
        "Agreement",
        "Ratings vs rankings",
        "Annotator quality",
        "Model leaderboard",
        "Who labelled",
        "<svg",
        "Figures computed",
        "vendor/htmx.min.js",
    ):
        assert text in page, text
    assert "cdn" not in page.lower()
    # One section per tab: each renders its own figures, and only those.
    expected = {
        "progress": "Labels per",
        "agreement": "Measure",
        "consistency": "Least consistent annotators",
        "cases": "1 inconsistent case",
        "annotators": "Median s",
        "leaderboard": "Bradley-Terry ratings",
        "people": "Against quota targets",
    }
    url = reverse("dashboard:campaign", args=[labelled.slug])
    for tab, text in expected.items():
        body = client.get(f"{url}?tab={tab}").content.decode()
        assert f'data-tab="{tab}"' in body and text in body, tab
        assert f'<a href="?tab={tab}" aria-current="page">' in body
        others = [t for k, t in expected.items() if k != tab and t not in ("Measure",)]
        assert not any(t in body for t in others if t != text), tab
    bad = client.get(f"{url}?tab=nope").content.decode()
    assert 'data-tab="progress"' in bad
    # The drill-down shows the inconsistent case: prompt, both responses, ratings, judgment.
    with django_assert_max_num_queries(8):
        cases = client.get(reverse("dashboard:cases", args=[labelled.slug])).content.decode()
    assert "1 inconsistent case" in cases
    assert "judgment <strong>A</strong>" in cases and "rated 4.0" in cases
    resp = ItemResponse.objects.filter(item__campaign=labelled).first()
    assert resp is not None and escape(resp.response.text) in cases
    prompt = resp.item.prompt
    assert prompt is not None and escape(prompt.text) in cases


def test_page_without_snapshot_says_so_and_requests_one(client, labelled, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "annotate.views.dashboard.analytics_snapshot_request", lambda **kw: calls.append(kw)
    )
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("dashboard:campaign", args=[labelled.slug])).content.decode()
    assert "No figures yet" in page and calls == [{"campaign_id": labelled.pk}]
    resp = client.post(reverse("dashboard:recompute", args=[labelled.slug]))
    assert resp.status_code == 200 and "Recomputation queued" in resp.content.decode()
    assert calls[-1] == {"campaign_id": labelled.pk, "immediate": True}
    assert client.get(reverse("dashboard:recompute", args=[labelled.slug])).status_code == 405


def test_anonymous_is_sent_to_log_in(client, labelled):
    for url in _urls(labelled.slug):
        resp = client.get(url)
        assert resp.status_code == 302 and reverse("login") in resp["Location"], url


def test_annotators_and_researchers_are_refused(client, labelled):
    annotator_user = AnnotatorFactory().user
    researcher = UserFactory()
    researcher.groups.add(Group.objects.get_or_create(name=RESEARCHER_GROUP)[0])
    CampaignGrant.objects.create(campaign=labelled, user=researcher)
    for user in (annotator_user, researcher):
        client.force_login(user)
        for url in _urls(labelled.slug):
            assert client.get(url).status_code == 403, (user, url)
        resp = client.post(reverse("dashboard:recompute", args=[labelled.slug]))
        assert resp.status_code == 403


def test_unknown_campaign_is_404(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("dashboard:campaign", args=["nope"])).status_code == 404


def test_campaign_without_labels_renders(client, campaign):
    analytics_snapshot_compute(campaign_id=campaign.pk)
    client.force_login(UserFactory(is_staff=True))
    url = reverse("dashboard:campaign", args=[campaign.slug])
    pages = {tab: client.get(f"{url}?tab={tab}") for tab, _ in TABS}
    assert {tab: r.status_code for tab, r in pages.items()} == {tab: 200 for tab, _ in TABS}
    assert "No labels yet" in pages["progress"].content.decode()
    assert "No battles between different models yet" in pages["leaderboard"].content.decode()
    assert "No inconsistent cases" in pages["cases"].content.decode()
    assert client.get(reverse("dashboard:cases", args=[campaign.slug])).status_code == 200


def test_freshness_poll_reloads_the_page_when_new_figures_arrive(client, labelled):
    """Nobody has to press a button: the htmx poll answers HX-Refresh once a snapshot
    newer than the one on screen exists, and stays quiet while the page is current."""
    client.force_login(UserFactory(is_staff=True))
    url = reverse("dashboard:freshness", args=[labelled.slug])
    htmx = {"HTTP_HX_REQUEST": "true"}
    waiting = client.get(url + "?shown=", **htmx)
    assert waiting.status_code == 200 and "HX-Refresh" not in waiting.headers
    snapshot = analytics_snapshot_compute(campaign_id=labelled.pk)
    assert snapshot is not None
    fresh = client.get(url + "?shown=", **htmx)
    assert fresh.headers.get("HX-Refresh") == "true"
    current = client.get(url + f"?shown={snapshot.pk}", **htmx)
    assert "HX-Refresh" not in current.headers
    assert "Up to date." in current.content.decode()


def test_dashboard_shows_the_fixed_statistics(client, labelled):
    analytics_snapshot_compute(campaign_id=labelled.pk)
    snap = AnalyticsSnapshot.objects.filter(campaign=labelled).latest("pk")
    within = snap.data["consistency"]["within_annotator"]
    assert within["n_annotators"] == 1
    # One annotator: no interval can be drawn from a single resampled unit.
    assert within["ci"] == [None, None]
    # Davidson rows as the report writes them when two models have battles.
    snap.data["leaderboard"]["overall_davidson"] = [
        {"model": "model-x", "rating": 1012.5, "ci": [990.1, 1030.2], "battles": 9, "win_rate": 0.6}
    ]
    snap.data["leaderboard"]["davidson_nu"] = {"value": 0.41, "ci": [0.2, 0.7]}
    snap.save(update_fields=["data"])
    client.force_login(UserFactory(is_staff=True))
    url = reverse("dashboard:campaign", args=[labelled.slug])
    page = client.get(url + "?tab=leaderboard").content.decode()
    assert "Ties as ties (Davidson)" in page and "\u03bd = 0.410" in page
    assert "<td>model-x</td><td>1012.5</td><td>990.1 \u2013 1030.2</td>" in page
    page = client.get(url + "?tab=agreement").content.decode()
    assert "alpha_ordinal" in page  # pairwise A/tie/B agreement row
    page = client.get(url + "?tab=consistency").content.decode()
    assert "resampling annotators: n = 1" not in page  # no interval from one annotator


def test_campaign_list_is_one_query_whatever_the_number_of_campaigns(
    client, labelled, django_assert_max_num_queries
):
    from tests.factories import CampaignFactory

    analytics_snapshot_compute(campaign_id=labelled.pk)
    client.force_login(UserFactory(is_staff=True))
    url = reverse("dashboard:index")
    for n in range(6):
        other = CampaignFactory(slug=f"other-{n}")
        analytics_snapshot_compute(campaign_id=other.pk)
    # Session, user, the page header's annotator lookup, then the campaigns with their
    # newest snapshot's figures joined: no query per campaign.
    with django_assert_max_num_queries(4):
        page = client.get(url).content.decode()
    assert page.count("/dashboard/other-") == 6
    latest = labelled.analytics_snapshots.order_by("-computed_at").first()
    assert f"<td>{latest.n_labels}</td>" in page


def test_cases_and_annotators_page_through(client, labelled):
    """Ten cases a page with a pager that keeps the annotator filter; the annotators table
    pages too, keeping its sort and filters."""
    from annotate.views import dashboard_tabs

    snapshot = analytics_snapshot_compute(campaign_id=labelled.pk)
    case = snapshot.data["consistency"]["cases"][0]
    snapshot.data["consistency"]["cases"] = [
        dict(case, label_id=n, annotator="ann-x" if n % 2 else "ann-y") for n in range(25)
    ]
    snapshot.data["annotators"] = [
        dict(snapshot.data["annotators"][0], annotator=f"ann-{n:02d}", n_labels=n)
        for n in range(30)
    ]
    snapshot.save(update_fields=["data"])
    client.force_login(UserFactory(is_staff=True))
    cases_url = reverse("dashboard:cases", args=[labelled.slug])
    first = client.get(cases_url).content.decode()
    assert first.count('<details class="case">') == dashboard_tabs.CASES_PER_PAGE
    assert "25 inconsistent cases" in first and "page 1 of 3" in first
    assert f'hx-get="{cases_url}?page=2"' in first
    last = client.get(cases_url + "?page=3").content.decode()
    assert last.count('<details class="case">') == 5 and "page 3 of 3" in last
    mine = client.get(cases_url + "?annotator=ann-x&page=2").content.decode()
    assert "12 inconsistent cases for <strong>ann-x</strong>" in mine
    assert mine.count('<details class="case">') == 2
    assert f'hx-get="{cases_url}?annotator=ann-x&amp;page=1"' in mine
    people = reverse("dashboard:annotators", args=[labelled.slug])
    page2 = client.get(people + "?sort=n_labels&dir=asc&page=2").content.decode()
    assert "30 annotators" in page2 and "page 2 of 2" in page2
    assert "ann-25" in page2 and "ann-24" not in page2  # ascending: 25..29 on page 2
    assert "sort=n_labels&amp;dir=asc" in page2  # the pager keeps the order
