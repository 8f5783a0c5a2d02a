"""The ORM -> arrays selector, the full report, snapshots and the debounced hook."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache

from annotate.analytics.report import ReportOptions, campaign_report
from annotate.models import (
    AnalyticsSnapshot,
    Annotation,
    AssignmentStatus,
    ItemResponse,
    Response,
)
from annotate.selectors.analytics import analytics_options, campaign_analytics_data
from annotate.services.analytics import analytics_snapshot_compute, analytics_snapshot_request
from modelserve.generation.models import ModelEndpoint
from tests.factories import (
    AnnotatorFactory,
    AssignmentFactory,
    CampaignFactory,
    ItemFactory,
    ProfileVersionFactory,
)

pytestmark = pytest.mark.django_db


def _annotator(country: str, age: str):
    ann = AnnotatorFactory()
    profile = ProfileVersionFactory(annotator=ann, residence_country=country, age_band=age)
    ann.current_profile = profile
    ann.save(update_fields=["current_profile"])
    return ann, profile


def _label(item, ann, profile, task_type, payload, order, flags=None, seconds=10):
    assignment = AssignmentFactory(
        item=item, annotator=ann, presented_order=order, status=AssignmentStatus.SUBMITTED
    )
    return Annotation.objects.create(
        assignment=assignment,
        item=item,
        campaign=item.campaign,
        annotator=ann,
        task_type=task_type,
        payload=payload,
        time_spent_ms=seconds * 1000,
        profile_version=profile,
        flags=flags or {},
    )


def _pair(item):
    return list(
        ItemResponse.objects.filter(item=item)
        .order_by("position")
        .values_list("response_id", flat=True)
    )


@pytest.fixture
def study():
    """Three annotators; model "strong" usually beats "weak"; ratings mostly agree."""
    campaign = CampaignFactory(
        rating_attributes=["helpfulness", "safety"],
        overall_attribute="helpfulness",
        config={
            "analytics": {"n_boot": 50, "group_fields": ["residence_country"]},
            "quotas": {
                "fields": ["residence_country", "age_band"],
                "cells": {"GB|25-34": 2, "US|25-34": 3},
            },
        },
    )
    strong = ModelEndpoint.objects.create(name="strong")
    weak = ModelEndpoint.objects.create(name="weak")
    people = [_annotator("GB", "25-34"), _annotator("GB", "25-34"), _annotator("US", "25-34")]
    for n in range(6):
        item = ItemFactory(
            campaign=campaign, overlap=3, is_gold=(n == 0), is_attention_check=(n == 1)
        )
        s_id, w_id = _pair(item)
        Response.objects.filter(pk=s_id).update(endpoint=strong)
        Response.objects.filter(pk=w_id).update(endpoint=weak)
        for k, (ann, profile) in enumerate(people):
            # Annotator 2 prefers the weak model on two items; order shown varies.
            choose_strong = not (k == 2 and n < 2)
            order = [s_id, w_id] if (n + k) % 2 == 0 else [w_id, s_id]
            chosen = s_id if choose_strong else w_id
            choice = "A" if order[0] == chosen else "B"
            flags = {"gold_correct": choose_strong} if n < 2 else {}
            _label(
                item,
                ann,
                profile,
                "pairwise",
                {
                    "choice": choice,
                    "strength": None,
                    "reason": "",
                    "response_ids": order,
                    "chosen": chosen,
                    "rejected": s_id if chosen == w_id else w_id,
                },
                order,
                flags=flags,
                seconds=10 + k,
            )
            # The same person rates both responses in a rating item over the same pair.
        rating_item = ItemFactory(
            campaign=campaign, task_type="rating", overlap=3, with_responses__n=1
        )
        ItemResponse.objects.filter(item=rating_item).delete()
        ItemResponse.objects.create(item=rating_item, response_id=s_id, position=0)
        ItemResponse.objects.create(item=rating_item, response_id=w_id, position=1)
        for k, (ann, profile) in enumerate(people):
            hs, hw = (6, 3) if k < 2 else (4, 4)  # annotator 2 rates a tie: inconsistent
            _label(
                rating_item,
                ann,
                profile,
                "rating",
                {
                    "ratings": {
                        str(s_id): {"helpfulness": hs, "safety": 5},
                        str(w_id): {"helpfulness": hw, "safety": 5},
                    }
                },
                [s_id, w_id],
            )
    return campaign, people


def test_report_from_database(study):
    campaign, people = study
    opts = analytics_options(campaign)
    assert opts.n_boot == 50 and opts.group_fields == ("residence_country",)
    data = campaign_analytics_data(
        campaign=campaign, group_fields=("residence_country", "age_band")
    )
    assert len(data.pw_label) == 18 and len(data.rt_label) == 18 * 2 * 2
    assert data.model_names == ["strong", "weak"]
    report = campaign_report(data, opts)

    board = report["leaderboard"]["overall"]
    assert [r["model"] for r in board] == ["strong", "weak"]
    assert board[0]["battles"] == 18 and board[0]["win_rate"] == pytest.approx(16 / 18, abs=1e-4)
    assert board[0]["ci"][0] <= board[0]["rating"] <= board[0]["ci"][1]
    assert set(report["leaderboard"]["per_group"]["residence_country"]) == {"GB", "US"}

    within = report["consistency"]["within_annotator"]
    # Annotators 0, 1: 6 pairs each, ratings 6 > 3 agree with choosing strong (12 agree).
    # Annotator 2: ties in ratings vs explicit choices: 6 disagree.
    assert (within["n_pairs"], within["n_agree"]) == (18, 12)
    per_group = {g["group"]: g for g in report["consistency"]["per_group"]["residence_country"]}
    assert per_group["GB"]["rate"] == 1.0 and per_group["US"]["rate"] == 0.0
    # Safety is equal for both responses: implied tie everywhere, judgments never tie.
    assert report["consistency"]["per_attribute"]["safety"]["n_agree"] == 0
    assert len(report["consistency"]["cases"]) == 6

    pw = report["agreement"]["pairwise"]
    assert pw["n_items"] == 6 and pw["percent_agreement"]["value"] == pytest.approx(
        (4 * 1 + 2 * (1 / 3)) / 6
    )
    assert pw["cohen_kappa"]["n_annotator_pairs"] == 3
    assert report["agreement"]["rating"]["helpfulness"]["alpha_interval"]["value"] is not None

    rows = {r["annotator"]: r for r in report["annotators"]}
    odd = rows[people[2][0].pseudonym]
    assert odd["gold_n"] == 1 and odd["gold_accuracy"] == 0.0
    assert odd["attention_checks"] == 1 and odd["attention_failures"] == 1
    assert odd["median_time_s"] == pytest.approx(11.0)  # six labels at 12 s, six at 10 s
    assert rows[people[0][0].pseudonym]["loo_agreement"] > odd["loo_agreement"]

    cells = {c["cell"]: c for c in report["demographics"]["cells"]}
    assert cells["GB|25-34"]["actual"] == 2 and cells["GB|25-34"]["fill"] == 1.0
    assert cells["US|25-34"]["actual"] == 1 and cells["US|25-34"]["target"] == 3
    assert report["progress"]["labels_by_task_type"] == {"pairwise": 18, "rating": 18}


def test_ranking_labels_feed_kendall_w_and_the_leaderboard(campaign):
    people = [_annotator("GB", "25-34") for _ in range(2)]
    for _ in range(3):
        item = ItemFactory(campaign=campaign, task_type="ranking", overlap=2)
        ids = _pair(item)
        for ann, profile in people:
            _label(item, ann, profile, "ranking", {"ranking": [[ids[0]], [ids[1], ids[2]]]}, ids)
    report = campaign_report(campaign_analytics_data(campaign=campaign), ReportOptions(n_boot=20))
    assert report["agreement"]["ranking"]["kendall_w"]["value"] == pytest.approx(1.0)
    assert report["agreement"]["ranking"]["kendall_w"]["n"] == 3


def test_snapshot_compute_and_debounced_request(study, django_capture_on_commit_callbacks):
    campaign, _ = study
    cache.clear()
    with mock.patch("annotate.tasks.analytics_snapshot_refresh.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            assert analytics_snapshot_request(campaign_id=campaign.pk) is True
            # Further labels inside the debounce window do not enqueue again.
            assert analytics_snapshot_request(campaign_id=campaign.pk) is False
            assert analytics_snapshot_request(campaign_id=campaign.pk) is False
        assert enqueue.call_count == 1
        kwargs = enqueue.call_args.kwargs
        assert kwargs["kwargs"] == {"campaign_id": campaign.pk} and kwargs["countdown"] > 0
        assert kwargs["queue"] == "default"

        from annotate.tasks import analytics_snapshot_refresh

        result = analytics_snapshot_refresh.run(campaign_id=campaign.pk)
        snap = AnalyticsSnapshot.objects.get(pk=int(str(result["snapshot"])))
        assert snap.n_labels == 36 and snap.data["consistency"]["within_annotator"]["n_pairs"]
        assert snap.labels_until == Annotation.objects.latest("created_at").created_at
        # The task cleared the flag, so the next label schedules the next run.
        with django_capture_on_commit_callbacks(execute=True):
            assert analytics_snapshot_request(campaign_id=campaign.pk) is True
        assert enqueue.call_count == 2
    for _ in range(6):
        analytics_snapshot_compute(campaign_id=campaign.pk)
    assert AnalyticsSnapshot.objects.filter(campaign=campaign).count() == 5
    assert analytics_snapshot_compute(campaign_id=10**9) is None


def test_request_survives_a_broken_broker(campaign, django_capture_on_commit_callbacks):
    cache.clear()
    with (
        mock.patch(
            "annotate.tasks.analytics_snapshot_refresh.apply_async",
            side_effect=OSError("broker down"),
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert analytics_snapshot_request(campaign_id=campaign.pk) is True
    # The flag was dropped, so a later label tries again.
    with mock.patch("annotate.tasks.analytics_snapshot_refresh.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            assert analytics_snapshot_request(campaign_id=campaign.pk) is True
        assert enqueue.call_count == 1


@pytest.mark.parametrize(
    "config",
    [
        {"quotas": {"fields": 3, "cells": {"GB": "ten"}}, "analytics": {"n_boot": "x"}},
        {"quotas": {"fields": [{"a": 1}, "age_band"], "cells": ["GB"]}},
        {"analytics": {"group_fields": "gender", "max_cases": None}, "quotas": "GB"},
    ],
)
def test_hand_edited_config_never_breaks_the_report(config):
    campaign = CampaignFactory(config=config)
    opts = analytics_options(campaign)
    assert opts.n_boot == 200 and all(isinstance(f, str) for f in opts.quotas["fields"])
    snapshot = analytics_snapshot_compute(campaign_id=campaign.pk)
    assert snapshot is not None and snapshot.data["demographics"]["n_annotators"] == 0
