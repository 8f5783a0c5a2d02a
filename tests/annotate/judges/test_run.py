"""Judging jobs through the batched generation path, with a simulated judge."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, Judgment
from modelserve.generation.judging import judge_campaign_run
from modelserve.generation.models import GenerationRequest
from tests.annotate.judges.world import item_with_qualities, judge_world

pytestmark = pytest.mark.django_db


def test_pairwise_items_are_asked_in_both_orders_and_labelled() -> None:
    campaign, judge, items = judge_world(n_items=4)
    report = judge_campaign_run(campaign_id=campaign.pk)
    counts = report.judges["sim-judge"]
    assert counts["items"] == 4 and counts["asked"] == 8 and counts["parsed"] == 8
    assert counts["labels"] == 4
    orders = sorted(Judgment.objects.filter(judge=judge).values_list("order", flat=True))
    assert orders == ["AB"] * 4 + ["BA"] * 4
    # The answers stay on the requests; no Response rows are made for judge questions.
    reqs = GenerationRequest.objects.filter(purpose="judge")
    assert reqs.count() == 8 and not reqs.filter(response__isnull=False).exists()
    labels = Annotation.all_sources.filter(judge=judge)
    assert labels.count() == 4
    human = {a.item_id: a.payload["chosen"] for a in Annotation.objects.all()}
    for label in labels:
        assert label.source == "ai" and label.assignment_id is None
        assert label.judge_prompt_version == 1
        assert label.flags["swap"] == "consistent"
        assert label.payload["chosen"] == human[label.item_id]  # a perfect judge
    # Nothing was assigned or counted as submitted.
    for item in items:
        item.refresh_from_db()
        assert item.slots_taken == 0 or item.slots_taken == 1  # the human's slot only
        assert item.assignments.count() == 1


def test_a_rerun_asks_nothing_again_and_a_new_prompt_version_relabels() -> None:
    from annotate.services.judges import judge_prompt_save

    campaign, judge, _ = judge_world(n_items=3)
    judge_campaign_run(campaign_id=campaign.pk)
    again = judge_campaign_run(campaign_id=campaign.pk)
    assert again.judges["sim-judge"]["asked"] == 0
    prompt = judge.prompts.get(task_type="pairwise", version=1)
    judge_prompt_save(
        judge=judge, task_type="pairwise", template=prompt.template + "\n", system=prompt.system
    )
    third = judge_campaign_run(campaign_id=campaign.pk)
    assert third.judges["sim-judge"]["asked"] == 6
    assert set(
        Annotation.all_sources.filter(judge=judge).values_list("judge_prompt_version", flat=True)
    ) == {2}


def test_unparsable_answers_are_stored_and_counted_never_crash() -> None:
    campaign, judge, _ = judge_world(n_items=6, behaviour="sim:junk=1")
    report = judge_campaign_run(campaign_id=campaign.pk)
    assert report.judges["sim-judge"]["unparsable"] == 12
    assert report.judges["sim-judge"]["labels"] == 0
    j = Judgment.objects.filter(judge=judge).first()
    assert j is not None and not j.parse_ok and j.parse_status == "unparsable"
    assert "cannot decide" in j.raw_output
    assert not Annotation.all_sources.filter(judge=judge).exists()


def test_a_failing_endpoint_records_failed_judgments() -> None:
    campaign, judge, _ = judge_world(n_items=2)
    judge.endpoint.backend, judge.endpoint.model = "fake", "fail-config"
    judge.endpoint.save()
    report = judge_campaign_run(campaign_id=campaign.pk)
    assert report.judges["sim-judge"]["failed"] == 4
    assert set(Judgment.objects.values_list("parse_status", flat=True)) == {"failed"}


@pytest.mark.parametrize(("policy", "expected"), [("drop", 0), ("tie", 3), ("first", 3)])
def test_inconsistent_swaps_follow_the_policy(policy: str, expected: int) -> None:
    # bias=1: always "A", so every pair is inconsistent (A in AB, A in BA = the other).
    campaign, judge, _ = judge_world(n_items=3, behaviour="sim:bias=1", policy=policy)
    judge_campaign_run(campaign_id=campaign.pk)
    labels = Annotation.all_sources.filter(judge=judge)
    assert labels.count() == expected
    for label in labels:
        assert label.flags["swap"] == "inconsistent"
        assert label.payload["choice"] == {"tie": "tie", "first": "A"}[policy]


def test_rating_and_ranking_items() -> None:
    campaign, judge, _ = judge_world(n_items=0)
    rating = item_with_qualities(campaign, "rating", [0.0, 1.0])
    ranking = item_with_qualities(campaign, "ranking", [0.2, 0.9, 0.5])
    judge_campaign_run(campaign_id=campaign.pk)
    low, high = campaign.rating_range
    r = Annotation.all_sources.get(judge=judge, item=rating)
    ids = list(rating.item_responses.order_by("position").values_list("response_id", flat=True))
    attr = campaign.overall_attribute
    assert r.payload["ratings"] == {str(ids[0]): {attr: low}, str(ids[1]): {attr: high}}
    k = Annotation.all_sources.get(judge=judge, item=ranking)
    rids = list(ranking.item_responses.order_by("position").values_list("response_id", flat=True))
    assert k.payload["ranking"] == [[rids[1]], [rids[2]], [rids[0]]]


def test_limit_and_task_types_from_config() -> None:
    campaign, _, _ = judge_world(n_items=5, config={"judges": {"limit": 2}})
    assert judge_campaign_run(campaign_id=campaign.pk).judges["sim-judge"]["items"] == 2
    assert judge_campaign_run(campaign_id=campaign.pk, limit=1).judges["sim-judge"]["items"] == 1
    campaign2, _, _ = judge_world(n_items=2, config={"judges": {"task_types": ["rating"]}})
    assert judge_campaign_run(campaign_id=campaign2.pk).judges["sim-judge"]["items"] == 0
