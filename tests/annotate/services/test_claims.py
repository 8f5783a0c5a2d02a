"""Issue 14: a claim statement compiled once per queue shape serves every annotator and
campaign with their own ids, and matches the statement built for each lease."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Q

from annotate.services import claims
from annotate.services.claims import (
    _candidates,
    _claim,
    _claim_statement,
    claim_next,
)
from tests.factories import AnnotatorFactory, AssignmentFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _claim_fresh(annotator, campaign, task_types=None, extra=None):
    """The same claim, built and compiled for this lease alone."""
    candidates = _candidates(
        annotator_id=annotator.pk,
        campaign_id=campaign.pk,
        routing=False,
        task_types=task_types,
        extra=extra,
    )
    return _claim(*_claim_statement(candidates, ["-priority", "id"], wait=False))


@pytest.mark.parametrize(
    "task_types, extra",
    [(None, None), (["rating"], None), (None, Q(is_gold=True)), (["pairwise"], Q(priority=5))],
)
def test_the_cached_claim_takes_what_a_fresh_one_takes(task_types, extra):
    claims._CLAIMS.clear()
    campaigns = [CampaignFactory(overlap=2), CampaignFactory(overlap=2)]
    for campaign in campaigns:
        for n, task_type in enumerate(["pairwise", "rating", "pairwise", "rating"]):
            ItemFactory(
                campaign=campaign, task_type=task_type, priority=5 * (n % 2), is_gold=n == 2
            )
    people = [AnnotatorFactory(), AnnotatorFactory()]
    # Each person already had the first item of the first campaign.
    first = campaigns[0].items.order_by("-priority", "id").first()
    for person in people:
        AssignmentFactory(item=first, annotator=person)
    for campaign in campaigns:
        for person in people:
            with transaction.atomic():
                sid = transaction.savepoint()
                fresh = _claim_fresh(person, campaign, task_types, extra)
                transaction.savepoint_rollback(sid)
                cached = claim_next(
                    annotator=person,
                    campaign=campaign,
                    task_types=task_types,
                    extra=extra,
                    wait=False,
                )
            assert (cached and cached.pk) == (fresh and fresh.pk)
            if cached is not None:
                assert cached.campaign_id == campaign.pk
                assert cached.slots_taken == fresh.slots_taken  # counted once, as fresh
    # One statement per shape, whatever the campaign or annotator.
    assert len(claims._CLAIMS) == 1


def test_a_filter_that_cannot_be_a_key_is_compiled_each_time():
    claims._CLAIMS.clear()
    campaign = CampaignFactory(overlap=1)
    items = [ItemFactory(campaign=campaign) for _ in range(3)]

    class Unhashable(Q):
        def __hash__(self):
            raise TypeError("unhashable")

    wanted = Unhashable(id__in=[items[2].pk])
    got = claim_next(
        annotator=AnnotatorFactory(), campaign=campaign, task_types=None, extra=wanted, wait=True
    )
    assert got is not None and got.pk == items[2].pk
    assert claims._CLAIMS == {}
