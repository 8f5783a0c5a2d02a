"""Language quotas in the queue: a cap stops a language, a floor serves it first, and
concurrent leases never overshoot a cap (PostgreSQL advisory lock)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from annotate.models import Annotation, Item
from annotate.services import annotation_submit, assignment_next, assignment_skip
from annotate.services.language_quotas import language_label_counts
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory


def _items(campaign, language, n, priority=0.0):
    return [ItemFactory(campaign=campaign, language=language, priority=priority) for _ in range(n)]


@pytest.mark.django_db
def test_a_capped_language_is_not_served_once_full_and_a_skip_gives_the_place_back():
    campaign = CampaignFactory(overlap=1, config={"language_quotas": {"fr": {"max_labels": 2}}})
    _items(campaign, "fr", 4, priority=10)  # French first by priority, until the cap
    _items(campaign, "en", 2)
    annotators = [AnnotatorFactory() for _ in range(6)]
    leases = [assignment_next(annotator=a, campaign=campaign) for a in annotators]
    served = [lease.item.language if lease else None for lease in leases]
    assert served.count("fr") == 2 and served.count("en") == 2 and served.count(None) == 2
    assert language_label_counts(campaign=campaign, languages=["fr", "en"]) == {"fr": 2, "en": 2}
    # A skipped French lease frees its place in the quota.
    french = next(lease for lease in leases if lease and lease.item.language == "fr")
    assignment_skip(assignment_id=french.pk, annotator=french.annotator)
    late = assignment_next(annotator=annotators[-1], campaign=campaign)
    assert late is not None and late.item.language == "fr"


@pytest.mark.django_db
def test_a_language_under_its_floor_is_served_first():
    campaign = CampaignFactory(overlap=1, config={"language_quotas": {"de": {"min_labels": 2}}})
    _items(campaign, "en", 3, priority=5)
    _items(campaign, "de", 3, priority=0)
    order = []
    for _ in range(4):
        lease = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
        order.append(lease.item.language)
    # Two German labels first (the floor), then priority order again.
    assert order == ["de", "de", "en", "en"]


N_ANNOTATORS, CAP = 10, 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_leases_never_overshoot_a_language_cap():
    assert connection.vendor == "postgresql", "this test is about PostgreSQL locks"
    campaign = CampaignFactory(overlap=2, config={"language_quotas": {"fr": {"max_labels": CAP}}})
    _items(campaign, "fr", 8, priority=1)
    _items(campaign, "en", 8)
    annotators = [AnnotatorFactory() for _ in range(N_ANNOTATORS)]
    errors: list[BaseException] = []
    start = threading.Barrier(N_ANNOTATORS)

    def work(annotator):
        try:
            start.wait()
            while True:
                lease = assignment_next(annotator=annotator, campaign=campaign)
                if lease is None:
                    return
                annotation_submit(
                    assignment_id=lease.pk, annotator=annotator, payload={"choice": "A"}
                )
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(a,)) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    french = Annotation.objects.filter(campaign=campaign, item__language="fr").count()
    english = Annotation.objects.filter(campaign=campaign, item__language="en").count()
    assert french == CAP  # exactly the cap: never more, and the queue filled it
    assert english == 16  # every English slot (8 items x overlap 2)
    for item in Item.objects.filter(campaign=campaign):
        assert item.slots_taken == item.n_submitted <= item.overlap
