"""Adaptive overlap: items whose labels disagree get more annotators, up to the maximum,
and the queue honours it under concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import F

from annotate.analytics.disagreement import answer_key, labels_disagree, majority_share
from annotate.models import Annotation, Assignment, Item
from annotate.services import ItemSpec, ResponseSpec, annotation_submit, assignment_next, items_add
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

RULE = {"overall_attribute": "helpfulness", "rating_range": (1, 7)}


def test_answer_keys_ignore_the_order_shown():
    a = answer_key("pairwise", {"choice": "A", "chosen": 7, "rejected": 8}, **RULE)
    b = answer_key("pairwise", {"choice": "B", "chosen": 7, "rejected": 8}, **RULE)
    assert a == b != answer_key("pairwise", {"choice": "tie", "chosen": None}, **RULE)
    assert answer_key("ranking", {"ranking": [[3, 1], [2]]}, **RULE) == frozenset({1, 3})
    two = {"ratings": {"1": {"helpfulness": 6}, "2": {"helpfulness": 3}}}
    assert answer_key("rating", two, **RULE) == frozenset({1})
    one_high = answer_key("rating", {"ratings": {"5": {"helpfulness": 6}}}, **RULE)
    one_mid = answer_key("rating", {"ratings": {"5": {"helpfulness": 4}}}, **RULE)
    assert one_high != one_mid
    assert answer_key("edit", {"edited_text": "x"}, **RULE) is None


def test_disagreement_rules():
    assert majority_share(["a", "a", "b", "b"]) == 0.5
    assert not labels_disagree(["a", "a"], rule="majority_share", min_agreement=0.75)
    assert labels_disagree(["a", "b"], rule="majority_share", min_agreement=0.75)
    assert not labels_disagree(["a", "a", "a", "b"], rule="majority_share", min_agreement=0.75)
    assert labels_disagree(["a", "a", "a", "b"], rule="any_disagreement", min_agreement=0.75)
    assert not labels_disagree(["a", None], rule="any_disagreement", min_agreement=1)


def _answer(annotator, campaign, choice):
    lease = assignment_next(annotator=annotator, campaign=campaign)
    assert lease is not None
    # "first"/"second" name a response (lower or higher id), whatever order was shown.
    wanted = sorted(lease.presented_order)[0 if choice == "first" else 1]
    pick = "A" if lease.presented_order[0] == wanted else "B"
    annotation_submit(assignment_id=lease.pk, annotator=annotator, payload={"choice": pick})
    return lease.item_id


CONFIG = {"adaptive_overlap": {"enabled": True, "base_overlap": 2, "max_overlap": 4}}


@pytest.mark.django_db
def test_disagreeing_item_gets_more_annotators_up_to_the_maximum():
    campaign = CampaignFactory(overlap=3, config=CONFIG)
    [item] = items_add(
        campaign=campaign,
        specs=[
            ItemSpec(
                task_type="pairwise",
                messages=[{"role": "user", "content": "Q"}],
                responses=[ResponseSpec(text="one"), ResponseSpec(text="two")],
            )
        ],
    )
    assert item.overlap == 2  # base_overlap, not the campaign's 3
    people = [AnnotatorFactory() for _ in range(6)]
    _answer(people[0], campaign, "first")
    _answer(people[1], campaign, "second")  # 1:1 -> raised to 3
    item.refresh_from_db()
    assert item.overlap == 3 and item.metadata["adaptive_overlap"] == [3]
    _answer(people[2], campaign, "first")  # 2:1, share 0.67 < 0.75 -> 4 (the maximum)
    _answer(people[3], campaign, "first")  # 3:1 at the maximum: stays
    item.refresh_from_db()
    assert (item.overlap, item.n_submitted, item.slots_taken) == (4, 4, 4)
    assert item.metadata["adaptive_overlap"] == [3, 4]
    assert assignment_next(annotator=people[4], campaign=campaign) is None


@pytest.mark.django_db
def test_agreeing_items_and_gold_items_keep_their_overlap():
    campaign = CampaignFactory(overlap=2, config=CONFIG)
    agreed = ItemFactory(campaign=campaign)
    gold = ItemFactory(campaign=campaign, is_gold=True, priority=-1)
    people = [AnnotatorFactory() for _ in range(4)]
    for person in people[:2]:
        assert _answer(person, campaign, "first") == agreed.pk
    assert _answer(people[0], campaign, "first") == gold.pk
    assert _answer(people[1], campaign, "second") == gold.pk
    agreed.refresh_from_db()
    gold.refresh_from_db()
    assert agreed.overlap == 2 and gold.overlap == 2


N_ITEMS, N_ANNOTATORS = 8, 8


@pytest.mark.django_db(transaction=True)
def test_adaptive_overlap_under_concurrency_keeps_every_invariant():
    assert connection.vendor == "postgresql", "this test is about PostgreSQL row locks"
    config = {
        "adaptive_overlap": {
            "enabled": True,
            "base_overlap": 2,
            "max_overlap": 4,
            "rule": "any_disagreement",
        }
    }
    campaign = CampaignFactory(overlap=2, config=config)
    items = [ItemFactory(campaign=campaign) for _ in range(N_ITEMS)]
    annotators = [AnnotatorFactory() for _ in range(N_ANNOTATORS)]
    errors: list[BaseException] = []
    start = threading.Barrier(N_ANNOTATORS)
    lock = threading.Lock()
    in_flight = [0]  # leases held and not yet submitted (their submit may raise an overlap)

    def work(n, annotator):
        try:
            start.wait()
            idle = 0
            while True:
                lease = assignment_next(annotator=annotator, campaign=campaign)
                if lease is None:
                    # A raise can free a slot just after this person found the queue
                    # empty (another's submit is still committing): like a returning
                    # annotator, look again while an item they have not done is open.
                    open_for_me = (
                        Item.objects.filter(campaign=campaign, slots_taken__lt=F("overlap"))
                        .exclude(
                            id__in=Assignment.objects.filter(annotator=annotator).values("item_id")
                        )
                        .exists()
                    )
                    with lock:
                        others_busy = in_flight[0] > 0
                    if (open_for_me or others_busy) and idle < 400:
                        idle += 1
                        time.sleep(0.05)
                        continue
                    return
                # Even items: everyone prefers the lower response id. Odd items: it
                # depends on the person, so labels may disagree.
                with lock:
                    in_flight[0] += 1
                idle = 0
                low = min(lease.presented_order)
                prefers_low = lease.item_id % 2 == 0 or n % 2 == 0
                shown_first_is_low = lease.presented_order[0] == low
                choice = "A" if shown_first_is_low == prefers_low else "B"
                try:
                    annotation_submit(
                        assignment_id=lease.pk, annotator=annotator, payload={"choice": choice}
                    )
                finally:
                    with lock:
                        in_flight[0] -= 1
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n, a)) for n, a in enumerate(annotators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    for item in Item.objects.filter(pk__in=[i.pk for i in items]):
        chosen = list(
            Annotation.objects.filter(item=item).values_list("payload__chosen", flat=True)
        )
        # Every slot answered, counters match rows, never past the maximum.
        assert item.n_submitted == item.slots_taken == item.overlap == len(chosen)
        assert 2 <= item.overlap <= 4
        unanimous = len(Counter(chosen)) == 1
        if item.overlap > 2:
            assert not unanimous  # only disagreement raises
            assert item.metadata["adaptive_overlap"] == list(range(3, item.overlap + 1))
        if item.overlap < 4:
            # The last check ran on exactly these labels and found them agreeing.
            assert unanimous
        if item.pk % 2 == 0:
            assert item.overlap == 2
