"""Quality control: gold items and attention checks at a rate, pausing, too-fast flags."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment, Item, TaskType
from annotate.services import AnnotatorPaused, annotation_submit, assignment_next_with_quality
from annotate.services.quality import quality_failures, submit_notices
from tests.annotate.ui_helpers import HX, campaign_with, client_for, onboarded_annotator
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def _gold(campaign, *, attention=False, chosen_position=0):
    item = ItemFactory(
        campaign=campaign,
        task_type=TaskType.PAIRWISE,
        is_gold=not attention,
        is_attention_check=attention,
        overlap=50,
        priority=-100,  # the ordinary queue reaches it last; the rate decides
    )
    rid = item.item_responses.get(position=chosen_position).response_id
    item.gold_answer = {"chosen": rid}
    item.save(update_fields=["gold_answer"])
    return item, rid


class _FixedRng(random.Random):
    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_gold_item_served_when_draw_below_rate():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"gold_rate": 0.3})
    gold, _ = _gold(campaign)
    annotator = onboarded_annotator()
    a = assignment_next_with_quality(annotator=annotator, campaign=campaign, rng=_FixedRng(0.1))
    assert a.item_id == gold.pk
    # The annotator holds a lease: asking again returns it, gold or not.
    again = assignment_next_with_quality(annotator=annotator, campaign=campaign, rng=_FixedRng(0.1))
    assert again.pk == a.pk


def test_ordinary_item_served_when_draw_above_rate():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, config={"gold_rate": 0.3})
    gold, _ = _gold(campaign)
    a = assignment_next_with_quality(
        annotator=onboarded_annotator(), campaign=campaign, rng=_FixedRng(0.9)
    )
    assert a.item_id != gold.pk and not a.item.is_gold


def test_attention_rate_and_gold_rate_share_the_draw():
    campaign = campaign_with(
        TaskType.PAIRWISE, n_items=2, config={"gold_rate": 0.2, "attention_rate": 0.1}
    )
    gold, _ = _gold(campaign)
    check, _ = _gold(campaign, attention=True)

    def pick(v: float) -> int:
        assignment = assignment_next_with_quality(
            annotator=onboarded_annotator(), campaign=campaign, rng=_FixedRng(v)
        )
        assert assignment is not None
        return assignment.item_id

    assert pick(0.05) == check.pk
    assert pick(0.25) == gold.pk
    assert pick(0.5) not in (gold.pk, check.pk)


def test_gold_rate_over_many_annotators_is_close_to_configured():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=0, config={"gold_rate": 0.25})
    for _ in range(2):
        ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE, overlap=100)
    _gold(campaign)
    rng = random.Random(7)
    served = [
        assignment_next_with_quality(annotator=onboarded_annotator(), campaign=campaign, rng=rng)
        for _ in range(40)
    ]
    share = sum(a.item.is_gold for a in served) / len(served)
    assert 0.1 <= share <= 0.45


def test_gold_failures_recorded_and_threshold_pauses_annotator():
    campaign = campaign_with(
        TaskType.PAIRWISE, n_items=1, config={"gold_rate": 1.0, "max_gold_failures": 2}
    )
    annotator = onboarded_annotator()
    for _ in range(2):
        _gold(campaign)
    for n in range(2):
        a = assignment_next_with_quality(annotator=annotator, campaign=campaign)
        assert a.item.is_gold
        right = a.item.gold_answer["chosen"]
        wrong = "B" if a.presented_order[0] == right else "A"
        ann, _ = annotation_submit(
            assignment_id=a.pk, annotator=annotator, payload={"choice": wrong}
        )
        assert ann.flags["gold_correct"] is False
        assert quality_failures(annotator=annotator, campaign=campaign) == n + 1
    annotator.refresh_from_db()
    assert annotator.paused and "paused" in annotator.paused_reason
    with pytest.raises(AnnotatorPaused):
        assignment_next_with_quality(annotator=annotator, campaign=campaign)


def test_correct_gold_answers_do_not_pause():
    campaign = campaign_with(
        TaskType.PAIRWISE, n_items=1, config={"gold_rate": 1.0, "max_gold_failures": 1}
    )
    annotator = onboarded_annotator()
    _gold(campaign)
    a = assignment_next_with_quality(annotator=annotator, campaign=campaign)
    right = "A" if a.presented_order[0] == a.item.gold_answer["chosen"] else "B"
    ann, _ = annotation_submit(assignment_id=a.pk, annotator=annotator, payload={"choice": right})
    assert ann.flags["gold_correct"] is True
    annotator.refresh_from_db()
    assert not annotator.paused


def test_paused_annotator_is_told_through_the_page():
    campaign = campaign_with(
        TaskType.PAIRWISE, n_items=2, config={"gold_rate": 1.0, "max_gold_failures": 1}
    )
    _gold(campaign)
    annotator = onboarded_annotator()
    client = client_for(annotator)
    client.get(reverse("campaign_work", args=[campaign.slug]))
    a = Assignment.objects.get(annotator=annotator)
    assert a.item.is_gold
    wrong = "B" if a.presented_order[0] == a.item.gold_answer["chosen"] else "A"
    r = client.post(reverse("task_submit", args=[a.pk]), {"choice": wrong}, **HX)
    assert "Your account is paused" in r.content.decode()
    assert Assignment.objects.filter(annotator=annotator).count() == 1  # no further task
    page = client.get(reverse("campaign_work", args=[campaign.slug])).content.decode()
    assert "quality-check answers did not match" in page


def test_too_fast_flag_and_notice():
    campaign = campaign_with(TaskType.PAIRWISE, config={"min_seconds": 3})
    annotator = onboarded_annotator()
    a = assignment_next_with_quality(annotator=annotator, campaign=campaign)
    ann, _ = annotation_submit(
        assignment_id=a.pk, annotator=annotator, payload={"choice": "tie"}, time_spent_ms=1200
    )
    assert ann.flags["too_fast"] is True
    assert "3 seconds" in submit_notices(annotation=ann, campaign=campaign)[0]
    slow = Annotation(flags={}, campaign=campaign)
    assert submit_notices(annotation=slow, campaign=campaign) == []


def test_gold_lease_respects_overlap_and_never_repeats():
    campaign = campaign_with(TaskType.PAIRWISE, n_items=0, config={"gold_rate": 1.0})
    gold, _ = _gold(campaign)
    Item.objects.filter(pk=gold.pk).update(overlap=1)
    first = assignment_next_with_quality(annotator=onboarded_annotator(), campaign=campaign)
    assert first.item_id == gold.pk
    # Full: a second annotator finds nothing (no ordinary items either).
    assert assignment_next_with_quality(annotator=onboarded_annotator(), campaign=campaign) is None
