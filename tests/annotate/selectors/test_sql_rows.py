"""Issue 14: the submit path's hand-written SQL gives the same instances as the ORM.

Every concrete field of every joined model is compared with what the ORM loads (JSON,
datetimes, nullable foreign keys, booleans), the joined relations are cached so reading
them costs no query, and someone else's assignment is not found.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from annotate.models import Annotator, Assignment, Campaign, Item, Response
from annotate.security.backends import user_with_annotator
from annotate.selectors.task_pages import (
    assignment_for_annotator,
    item_responses_with_prompts,
    responses_with_prompts,
)
from annotate.services.errors import NotFound
from tests.factories import AssignmentFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def assignment() -> Assignment:
    item = ItemFactory(task_type="ranking", with_responses__n=3)
    campaign = item.campaign
    campaign.config = {"max_tasks_per_annotator": 7, "nested": {"a": [1, 2.5, None]}}
    campaign.save()
    a = AssignmentFactory(item=item, presented_order=[3, 1, 2])
    a.annotator.paused = True
    a.annotator.save()
    return Assignment.objects.get(pk=a.pk)


def test_the_submit_read_equals_the_orm_and_caches_its_relations(assignment):
    with transaction.atomic():
        got = assignment_for_annotator(
            assignment_id=assignment.pk, annotator=assignment.annotator, lock=True
        )
        with CaptureQueriesContext(connection) as reads:
            item, campaign, annotator = got.item, got.campaign, got.annotator
            assert item.campaign is campaign
    assert reads.captured_queries == []
    assert _fields(got) == _fields(assignment)
    assert _fields(item) == _fields(Item.objects.get(pk=assignment.item_id))
    assert _fields(campaign) == _fields(Campaign.objects.get(pk=assignment.campaign_id))
    assert _fields(annotator) == _fields(Annotator.objects.get(pk=assignment.annotator_id))
    assert campaign.config["nested"] == {"a": [1, 2.5, None]} and annotator.paused is True
    assert got.presented_order == [3, 1, 2]
    assert got.lease_expires_at.tzinfo is not None


def test_the_task_page_read_equals_the_orm(assignment):
    got = assignment_for_annotator(assignment_id=assignment.pk, annotator=assignment.annotator)
    assert _fields(got) == _fields(assignment)
    assert _fields(got.item) == _fields(Item.objects.get(pk=assignment.item_id))


def test_someone_elses_assignment_is_not_found(assignment):
    other = AssignmentFactory().annotator
    with pytest.raises(NotFound):
        assignment_for_annotator(assignment_id=assignment.pk, annotator=other)
    with transaction.atomic(), pytest.raises(NotFound):
        assignment_for_annotator(assignment_id=assignment.pk, annotator=other, lock=True)


def test_responses_come_with_their_prompt_and_item_rows_in_position_order(assignment):
    rows = item_responses_with_prompts(assignment.item_id)
    assert [r.position for r in rows] == sorted(r.position for r in rows)
    assert len(rows) == 3
    ids = [r.response_id for r in rows]
    found = {r.pk: r for r in responses_with_prompts(ids)}
    for row in rows:
        orm = Response.objects.get(pk=row.response_id)
        assert _fields(row.response) == _fields(orm) == _fields(found[orm.pk])
        assert _fields(row.response.prompt) == _fields(orm.prompt)
    assert responses_with_prompts([]) == []


def test_the_session_user_comes_with_its_annotator_or_knows_it_has_none(assignment):
    user = assignment.annotator.user
    got = user_with_annotator(str(user.pk))
    assert _fields(got) == _fields(get_user_model().objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as reads:
        assert got.annotator.pk == assignment.annotator_id
        assert got.annotator.user is got
    assert reads.captured_queries == []

    plain = UserFactory()
    got = user_with_annotator(plain.pk)
    with CaptureQueriesContext(connection) as reads:
        with pytest.raises(Annotator.DoesNotExist):
            got.annotator  # noqa: B018
        assert not hasattr(got, "annotator")
    assert reads.captured_queries == []
    assert user_with_annotator("not-a-number") is None
    assert user_with_annotator(10**9) is None
