"""The core flow: leasing, overlap, repeats, expiry, idempotent submit, skip."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from annotate.models import Annotation, Assignment, AssignmentStatus, CampaignStatus, Item
from annotate.payloads import PayloadError
from annotate.services import (
    AlreadyFinished,
    AnnotatorPaused,
    CampaignNotOpen,
    ItemSpec,
    ItemSpecError,
    LeaseExpired,
    NotFound,
    ResponseSpec,
    annotation_submit,
    assignment_next,
    assignment_skip,
    assignments_expire_stale,
    campaign_create,
    guideline_publish,
    items_add,
    profile_version_create,
)
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory, ProfileVersionFactory

pytestmark = pytest.mark.django_db


def answer(assignment, choice="A"):
    return annotation_submit(
        assignment_id=assignment.pk,
        annotator=assignment.annotator,
        payload={"choice": choice},
        time_spent_ms=1200,
    )


def test_overlap_is_respected_and_nobody_sees_an_item_twice():
    campaign = CampaignFactory(overlap=2)
    item = ItemFactory(campaign=campaign)
    a, b, c = AnnotatorFactory(), AnnotatorFactory(), AnnotatorFactory()
    first = assignment_next(annotator=a, campaign=campaign)
    answer(first)
    assert assignment_next(annotator=a, campaign=campaign) is None  # already done by a
    second = assignment_next(annotator=b, campaign=campaign)
    assert second.item == item
    assert assignment_next(annotator=c, campaign=campaign) is None  # two slots taken
    item.refresh_from_db()
    assert item.slots_taken == 2


def test_a_held_lease_is_returned_again_not_a_new_one():
    campaign = CampaignFactory()
    ItemFactory.create_batch(2, campaign=campaign)
    annotator = AnnotatorFactory()
    first = assignment_next(annotator=annotator, campaign=campaign)
    again = assignment_next(annotator=annotator, campaign=campaign)
    assert again.pk == first.pk
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_priority_then_age_decides_what_comes_next():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    urgent = ItemFactory(campaign=campaign, priority=5.0)
    got = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    assert got.item == urgent


def test_presented_order_is_a_permutation_and_varies():
    campaign = CampaignFactory(overlap=40)
    item = ItemFactory(campaign=campaign, task_type="ranking", with_responses__n=4)
    canonical = list(item.item_responses.values_list("response_id", flat=True))
    orders = {
        tuple(assignment_next(annotator=AnnotatorFactory(), campaign=campaign).presented_order)
        for _ in range(40)
    }
    assert all(sorted(o) == sorted(canonical) for o in orders)
    assert len(orders) > 1  # 24 permutations: 40 identical shuffles would be ~1e-55


def test_expired_lease_frees_the_slot_for_someone_else():
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign)
    a, b = AnnotatorFactory(), AnnotatorFactory()
    lease = assignment_next(annotator=a, campaign=campaign)
    assert assignment_next(annotator=b, campaign=campaign) is None
    later = timezone.now() + timedelta(seconds=campaign.lease_seconds + 1)
    assert assignments_expire_stale(now=later) == 1
    assert assignments_expire_stale(now=later) == 0  # safe to run twice
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.EXPIRED
    taken = assignment_next(annotator=b, campaign=campaign, now=later)
    assert taken is not None and taken.item_id == lease.item_id
    # a's late answer finds the slot gone.
    with pytest.raises(LeaseExpired):
        answer(lease)
    assert not Annotation.objects.filter(assignment=lease).exists()


def test_late_answer_is_kept_when_the_slot_is_still_free():
    campaign = CampaignFactory(overlap=1)
    item = ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    assignments_expire_stale(now=timezone.now() + timedelta(hours=1))
    _, created = answer(lease)
    assert created
    item.refresh_from_db()
    assert (item.slots_taken, item.n_submitted) == (1, 1)


def test_submit_is_idempotent():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    annotator = AnnotatorFactory()
    lease = assignment_next(annotator=annotator, campaign=campaign)
    first, created = answer(lease, "A")
    again, created_again = answer(lease, "B")  # a retry with a changed body changes nothing
    assert created and not created_again
    assert again.pk == first.pk and again.payload["choice"] == "A"
    assert Annotation.objects.count() == 1
    item = lease.item
    item.refresh_from_db()
    assert item.n_submitted == 1


def test_one_annotation_per_assignment_is_a_database_constraint():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    answer(lease)
    with pytest.raises(IntegrityError):
        Annotation.objects.create(
            assignment=lease,
            item=lease.item,
            campaign=campaign,
            annotator=lease.annotator,
            task_type="pairwise",
            payload={},
        )


def test_one_assignment_per_item_and_annotator_is_a_database_constraint():
    campaign = CampaignFactory(overlap=3)
    ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    with pytest.raises(IntegrityError):
        Assignment.objects.create(
            item=lease.item,
            annotator=lease.annotator,
            campaign=campaign,
            lease_expires_at=timezone.now(),
        )


def test_bad_payload_stores_nothing_and_keeps_the_lease():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    with pytest.raises(PayloadError):
        annotation_submit(assignment_id=lease.pk, annotator=lease.annotator, payload={"choice": 1})
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.ACTIVE
    assert not Annotation.objects.exists()


def test_someone_elses_assignment_looks_missing():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    intruder = AnnotatorFactory()
    with pytest.raises(NotFound):
        annotation_submit(assignment_id=lease.pk, annotator=intruder, payload={"choice": "A"})
    with pytest.raises(NotFound):
        assignment_skip(assignment_id=lease.pk, annotator=intruder)


def test_skip_frees_the_slot_and_the_item_is_not_offered_again():
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign)
    a, b = AnnotatorFactory(), AnnotatorFactory()
    lease = assignment_next(annotator=a, campaign=campaign)
    skipped = assignment_skip(assignment_id=lease.pk, annotator=a, reason="  not English ")
    assert skipped.status == AssignmentStatus.SKIPPED and skipped.skip_reason == "not English"
    assert assignment_skip(assignment_id=lease.pk, annotator=a).status == AssignmentStatus.SKIPPED
    assert assignment_next(annotator=a, campaign=campaign) is None
    assert assignment_next(annotator=b, campaign=campaign) is not None
    with pytest.raises(AlreadyFinished):
        answer(lease)


def test_closed_campaign_and_paused_annotator_get_nothing():
    campaign = CampaignFactory(status=CampaignStatus.CLOSED)
    ItemFactory(campaign=campaign)
    with pytest.raises(CampaignNotOpen):
        assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    campaign.status = CampaignStatus.OPEN
    campaign.save()
    paused = AnnotatorFactory(paused=True, paused_reason="Too many failed checks.")
    with pytest.raises(AnnotatorPaused, match="failed checks"):
        assignment_next(annotator=paused, campaign=campaign)


def test_annotation_records_guideline_and_profile_versions():
    campaign = campaign_create(slug="g", name="G", guidelines="v1 text", status="open")
    ItemFactory(campaign=campaign)
    annotator = AnnotatorFactory()
    profile = ProfileVersionFactory(annotator=annotator)
    annotator.current_profile = profile
    annotator.save()
    lease = assignment_next(annotator=annotator, campaign=campaign)
    shown = campaign.guidelines.get()
    guideline_publish(campaign=campaign, text="v2 text")  # published after the page loaded
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        annotator=annotator,
        payload={"choice": "tie"},
        guideline_version_id=shown.pk,
    )
    assert annotation.guideline_version.version == 1
    assert annotation.profile_version == profile


def test_too_fast_submits_are_flagged():
    campaign = CampaignFactory(config={"min_seconds": 5})
    ItemFactory(campaign=campaign)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        annotator=lease.annotator,
        payload={"choice": "A"},
        time_spent_ms=900,
    )
    assert annotation.flags == {"too_fast": True}


def test_gold_items_record_correctness():
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign, is_gold=True)
    best = item.item_responses.get(position=1).response_id
    item.gold_answer = {"chosen": best}
    item.save()
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    choice = "A" if lease.presented_order[0] == best else "B"
    annotation, _ = answer(lease, choice)
    assert annotation.flags["gold_correct"] is True


def test_items_add_builds_the_conversation_tree():
    campaign = CampaignFactory()
    spec = ItemSpec(
        task_type="pairwise",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Name a prime."},
        ],
        responses=[ResponseSpec(text="7", source="m1"), ResponseSpec(text="8", source="m2")],
    )
    [item] = items_add(campaign=campaign, specs=[spec])
    prompt = item.prompt
    assert prompt.text == "Name a prime." and len(prompt.messages) == 3
    turn = prompt.turn
    path = []
    while turn is not None:
        path.append(turn.text)
        turn = turn.parent
    assert path == ["Name a prime.", "Hello! How can I help?", "Hi"]
    assert [link.response.text for link in item.item_responses.all()] == ["7", "8"]
    assert item.overlap == campaign.overlap


@pytest.mark.parametrize(
    "spec",
    [
        ItemSpec(
            task_type="pairwise",
            messages=[{"role": "user", "content": "q"}],
            responses=[ResponseSpec(text="only one")],
        ),
        ItemSpec(task_type="rating", messages=[], responses=[ResponseSpec(text="a")]),
        ItemSpec(
            task_type="rating",
            messages=[{"role": "assistant", "content": "q"}],
            responses=[ResponseSpec(text="a")],
        ),
        ItemSpec(task_type="nope", messages=[{"role": "user", "content": "q"}], responses=[]),
    ],
)
def test_items_add_is_all_or_nothing(spec):
    campaign = CampaignFactory()
    good = ItemSpec(
        task_type="rating",
        messages=[{"role": "user", "content": "q"}],
        responses=[ResponseSpec(text="a")],
    )
    with pytest.raises(ItemSpecError):
        items_add(campaign=campaign, specs=[good, spec])
    assert not Item.objects.exists()


def test_profile_edits_make_new_versions():
    annotator = AnnotatorFactory()
    base = {
        k: v
        for k, v in ProfileVersionFactory.build(annotator=annotator).__dict__.items()
        if not k.startswith("_") and k not in {"id", "annotator_id", "version", "created_at"}
    }
    v1 = profile_version_create(annotator=annotator, **base)
    v2 = profile_version_create(annotator=annotator, **{**base, "residence_country": "FR"})
    annotator.refresh_from_db()
    assert (v1.version, v2.version) == (1, 2)
    assert annotator.current_profile == v2
    v1.refresh_from_db()
    assert v1.residence_country == "GB"
