"""FastInsertMixin writes the row Django's own INSERT writes (annotate.models.fast_insert)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.db.models.signals import post_save
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.models import Annotation, Assignment, TaskType, fast_insert
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


NOW = timezone.now()


def _pair(item, annotators, *, orm: bool, monkeypatch):
    """An assignment and its annotation, saved by the fast path or by Django's."""
    if orm:
        monkeypatch.setattr(fast_insert, "_statement", lambda *a, **k: None)
    now = NOW
    assignment = Assignment(
        item=item,
        annotator=annotators,
        campaign=item.campaign,
        presented_order=[3, 1, 2],
        lease_expires_at=now + timedelta(minutes=15),
    )
    assignment.save(force_insert=True)
    annotation = Annotation(
        assignment=assignment,
        item=item,
        campaign=item.campaign,
        annotator=annotators,
        task_type=TaskType.PAIRWISE,
        payload={"choice": "A", "strength": -2, "chosen": 3, "rejected": 1, "reason": "é"},
        time_spent_ms=4321,
        flags={"too_fast": False},
    )
    annotation.save(force_insert=True)
    monkeypatch.undo()
    return assignment, annotation


def _stored(obj, skip=("id", "assignment", "leased_at", "created_at", "updated_at")):
    row = model_to_dict(
        type(obj).all_sources.get(pk=obj.pk)
        if isinstance(obj, Annotation)
        else type(obj).objects.get(pk=obj.pk)
    )
    return {k: v for k, v in row.items() if k not in skip}


def test_the_fast_rows_equal_the_orm_rows_column_for_column(monkeypatch):
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE, overlap=2)
    fast = _pair(item, AnnotatorFactory(), orm=False, monkeypatch=monkeypatch)
    orm = _pair(item, AnnotatorFactory(), orm=True, monkeypatch=monkeypatch)
    for mine, theirs in zip(fast, orm, strict=True):
        assert mine.pk is not None and not mine._state.adding and mine._state.db == "default"
        a, b = _stored(mine), _stored(theirs)
        a.pop("annotator"), b.pop("annotator")
        assert a == b
    # The label columns Annotation.save derives from the payload were written.
    stored = Annotation.all_sources.get(pk=fast[1].pk)
    assert stored.choice is not None and stored.strength == -2
    assert stored.payload["reason"] == "é"


def test_one_insert_statement_and_the_signals_still_fire(monkeypatch):
    item = ItemFactory(task_type=TaskType.PAIRWISE)
    seen = []
    annotator = AnnotatorFactory()

    def receiver(sender, instance, created, **kwargs):
        seen.append((sender, created, instance.pk))

    post_save.connect(receiver, sender=Assignment, dispatch_uid="test-fast-insert")
    try:
        with CaptureQueriesContext(connection) as queries:
            assignment = Assignment.objects.create(
                item=item,
                annotator=annotator,
                campaign=item.campaign,
                presented_order=[],
                lease_expires_at=timezone.now(),
            )
    finally:
        post_save.disconnect(dispatch_uid="test-fast-insert", sender=Assignment)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert seen == [(Assignment, True, assignment.pk)]


def test_an_expression_value_takes_the_orms_way():
    item = ItemFactory(task_type=TaskType.PAIRWISE)
    assignment = Assignment.objects.create(
        item=item,
        annotator=AnnotatorFactory(),
        campaign=item.campaign,
        presented_order=[],
        lease_expires_at=Now(),  # an expression: the fixed statement cannot carry it
    )
    assignment.refresh_from_db()
    assert abs(assignment.lease_expires_at - timezone.now()) < timedelta(minutes=1)


def test_a_failed_insert_raises_and_stores_nothing():
    item = ItemFactory(task_type=TaskType.PAIRWISE)
    annotator = AnnotatorFactory()
    fields = dict(
        item=item,
        annotator=annotator,
        campaign=item.campaign,
        presented_order=[],
        lease_expires_at=timezone.now(),
    )
    Assignment.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(**fields)  # one assignment per (item, annotator)
    assert Assignment.objects.filter(item=item, annotator=annotator).count() == 1
