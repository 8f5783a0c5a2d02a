"""Many annotators leasing and submitting at once on PostgreSQL: the invariants hold.

Threads each use their own database connection, so the row locks (FOR UPDATE SKIP
LOCKED) are exercised for real. Two threads share each annotator to mimic two tabs.
"""

import random
import threading
import time

import pytest
from django.db import connection, connections
from django.db.models import Count

from annotate.models import Annotation, Assignment, AssignmentStatus, Item
from annotate.services import AlreadyFinished, annotation_submit, assignment_next, assignment_skip
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

N_ITEMS, OVERLAP, N_ANNOTATORS, THREADS_PER_ANNOTATOR = 40, 3, 12, 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_lease_and_submit_keeps_every_invariant():
    assert connection.vendor == "postgresql", "this test is about PostgreSQL row locks"
    campaign = CampaignFactory(overlap=OVERLAP)
    for _ in range(N_ITEMS):
        ItemFactory(campaign=campaign)
    annotators = [AnnotatorFactory() for _ in range(N_ANNOTATORS)]
    submitted: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(N_ANNOTATORS * THREADS_PER_ANNOTATOR)

    def work(annotator, seed):
        rng = random.Random(seed)
        try:
            start.wait()
            while True:
                lease = assignment_next(annotator=annotator, campaign=campaign)
                if lease is None:
                    return
                try:
                    if rng.random() < 0.1:
                        assignment_skip(assignment_id=lease.pk, annotator=annotator, reason="x")
                        continue
                    annotation, created = annotation_submit(
                        assignment_id=lease.pk,
                        annotator=annotator,
                        payload={"choice": rng.choice(["A", "B", "tie"])},
                    )
                except AlreadyFinished:
                    # The other tab of this annotator skipped or answered it first.
                    continue
                # A retry of the same submit must change nothing.
                again, created_again = annotation_submit(
                    assignment_id=lease.pk, annotator=annotator, payload={"choice": "A"}
                )
                assert again.pk == annotation.pk and not created_again
                if created:
                    with lock:
                        submitted.append(annotation.pk)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(a, n * 10 + k))
        for n, a in enumerate(annotators)
        for k in range(THREADS_PER_ANNOTATOR)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]

    # Every label that a thread saw stored is stored exactly once.
    assert len(submitted) == len(set(submitted)) == Annotation.objects.count()
    # No item exceeded its overlap; counters match the rows.
    labels = dict(Annotation.objects.values_list("item").annotate(c=Count("id")))
    held = dict(
        Assignment.objects.filter(status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.SUBMITTED])
        .values_list("item")
        .annotate(c=Count("id"))
    )
    for item in Item.objects.all():
        assert labels.get(item.pk, 0) <= item.overlap
        assert item.n_submitted == labels.get(item.pk, 0)
        assert item.slots_taken == held.get(item.pk, 0)
    # Nobody saw an item twice.
    dupes = Assignment.objects.values("item", "annotator").annotate(c=Count("id")).filter(c__gt=1)
    assert not dupes.exists()
    # Work ran out only because it was really gone: any item an annotator never met is
    # full, and with few skips most slots were filled.
    full = set(Item.objects.filter(slots_taken=OVERLAP).values_list("id", flat=True))
    every = set(Item.objects.values_list("id", flat=True))
    for annotator in annotators:
        met = set(Assignment.objects.filter(annotator=annotator).values_list("item", flat=True))
        assert every - met <= full
    assert Annotation.objects.count() > N_ITEMS * OVERLAP * 0.8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other_fills_it", [False, True])
def test_last_item_locked_by_someone_else_is_waited_for_not_reported_done(other_fills_it):
    """SKIP LOCKED must not turn "someone is leasing the last item" into "nothing left"."""
    from django.db import transaction
    from django.db.models import F

    campaign = CampaignFactory(overlap=2)
    item = ItemFactory(campaign=campaign)
    holding = threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                Item.objects.select_for_update().get(pk=item.pk)
                holding.set()
                time.sleep(0.5)
                if other_fills_it:
                    Item.objects.filter(pk=item.pk).update(slots_taken=F("overlap"))
        finally:
            connections.close_all()

    other = threading.Thread(target=hold_lock)
    other.start()
    assert holding.wait(5)
    lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    other.join()
    item.refresh_from_db()
    if other_fills_it:
        assert lease is None and item.slots_taken == item.overlap == 2
    else:
        assert lease is not None and lease.item_id == item.pk and item.slots_taken == 1


@pytest.mark.django_db(transaction=True)
def test_two_submits_each_wanting_the_others_item_do_not_deadlock(monkeypatch):
    """CI, stop 21: a submit counts its label on its item (a row lock), then leases the
    next task in the same transaction. Two annotators answering A and B at once, each
    with only the other's item left, used to wait for each other's item: a deadlock,
    and one of them a 503. The lease inside a submit now never waits; the fresh lease
    after the commit does."""
    from annotate.services import submit_flow

    campaign = CampaignFactory(overlap=2)
    first, second = ItemFactory(campaign=campaign), ItemFactory(campaign=campaign)
    x, y = AnnotatorFactory(), AnnotatorFactory()
    x_lease = assignment_next(annotator=x, campaign=campaign)
    y_lease = assignment_next(annotator=y, campaign=campaign)
    # Both leased the first item; give y the second instead, as a queue would.
    Assignment.objects.filter(pk=y_lease.pk).update(item=second)
    Item.objects.filter(pk=first.pk).update(slots_taken=1)
    Item.objects.filter(pk=second.pk).update(slots_taken=1)
    assert x_lease.item_id == first.pk

    # Both answers counted (both item rows locked) before either looks for a next task.
    both_counted = threading.Barrier(2, timeout=10)
    real_lease_locked = submit_flow.lease_locked

    def lease_after_both_counted(**kwargs):
        both_counted.wait()
        return real_lease_locked(**kwargs)

    monkeypatch.setattr(submit_flow, "lease_locked", lease_after_both_counted)
    outcomes: dict[str, object] = {}
    errors: list[BaseException] = []

    def submit(name, annotator, assignment_id):
        try:
            outcomes[name] = submit_flow.annotation_submit_and_lease(
                assignment_id=assignment_id,
                annotator=annotator,
                parse=lambda assignment: {"choice": "A"},
            )
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=submit, args=("x", x, x_lease.pk)),
        threading.Thread(target=submit, args=("y", y, y_lease.pk)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    # Each got the other's item as the next task, and both labels are stored.
    assert outcomes["x"].lease.assignment.item_id == second.pk
    assert outcomes["y"].lease.assignment.item_id == first.pk
    assert Annotation.objects.count() == 2
    assert list(Item.objects.order_by("pk").values_list("n_submitted", "slots_taken")) == [
        (1, 2),
        (1, 2),
    ]
