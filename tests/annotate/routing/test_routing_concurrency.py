"""The human budget holds while annotators lease and submit and plans are recomputed at
the same time (PostgreSQL row locks, one connection per thread)."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections

from annotate.models import Annotation, Item, RoutingPlan
from annotate.services import annotation_submit, assignment_next, assignment_skip
from annotate.services.routing import routing_plan_compute
from tests.annotate.routing.sim import simulate
from tests.factories import AnnotatorFactory

N_ITEMS, BUDGET, N_ANNOTATORS, N_PLANS = 30, 8, 8, 6


@pytest.mark.django_db(transaction=True)
def test_budget_holds_under_concurrent_leases_and_replans() -> None:
    assert connection.vendor == "postgresql", "this test is about PostgreSQL row locks"
    sim = simulate(N_ITEMS, budget=BUDGET, seed=9)
    campaign = sim.campaign
    routing_plan_compute(campaign=campaign)
    annotators = [AnnotatorFactory() for _ in range(N_ANNOTATORS)]
    errors: list[BaseException] = []
    start = threading.Barrier(N_ANNOTATORS + 1)

    def annotate(annotator, seed):  # type: ignore[no-untyped-def]
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(N_ITEMS):
                lease = assignment_next(annotator=annotator, campaign=campaign)
                if lease is None:
                    return
                if rng.random() < 0.2:  # a skip frees the item for a later plan
                    assignment_skip(assignment_id=lease.pk, annotator=annotator)
                    continue
                annotation_submit(
                    assignment_id=lease.pk, annotator=annotator, payload={"choice": "A"}
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def replan():  # type: ignore[no-untyped-def]
        try:
            start.wait()
            for _ in range(N_PLANS):
                routing_plan_compute(campaign=campaign, trigger="beat")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(a, n)) for n, a in enumerate(annotators)]
    threads.append(threading.Thread(target=replan))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors[:3]
    labelled = set(Annotation.objects.filter(campaign=campaign).values_list("item_id", flat=True))
    assert 0 < len(labelled) <= BUDGET
    assert RoutingPlan.objects.filter(campaign=campaign).count() == N_PLANS + 1
    # Every plan kept within the budget, and every labelled item is routed to people.
    assert all(p.spent <= BUDGET for p in RoutingPlan.objects.filter(campaign=campaign))
    assert set(Item.objects.filter(pk__in=labelled).values_list("route", flat=True)) == {"human"}
