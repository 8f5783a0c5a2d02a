"""Issue 14: a submit plus the next task costs at most 10 SQL statements, every task type.

Counted as the test client sees them: the session (cached), the user with its
annotator, the transaction's BEGIN/COMMIT (SAVEPOINT/RELEASE inside the test's own
transaction), the submit and the lease. Measured in the steady state a participant is
in: their second answer, with the short caches (guideline, webhooks, warm-up flag)
filled by the first, on items with a second free slot (so the campaign-done check,
which only runs when a label completes an item, is not part of it).
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment, AssignmentStatus, Campaign, TaskType
from tests.annotate.ui_helpers import HX, campaign_with, client_for, onboarded_annotator

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


def _answer(assignment: Assignment) -> dict[str, str]:
    """A valid form post for the assignment's task type, as the task page sends it."""
    order = assignment.presented_order
    task_type = assignment.item.task_type
    base = {"time_spent_ms": "4000"}
    guideline = assignment.campaign.guidelines.order_by("-version").first()
    if guideline is not None:
        base["guideline_version_id"] = str(guideline.pk)
    if task_type == TaskType.PAIRWISE:
        return {**base, "choice": "A", "strength": "2"}
    if task_type == TaskType.RANKING:
        return {**base, **{f"rank_{rid}": str(i + 1) for i, rid in enumerate(order)}}
    if task_type == TaskType.RATING:
        return {**base, **{f"rating_{rid}_helpfulness": "5" for rid in order}}
    if task_type == TaskType.EDIT:
        text = assignment.item.responses.get().text
        return {**base, "response_id": str(order[0]), "edited_text": text + " Edited."}
    if task_type == TaskType.CRITIQUE:
        spans = [{"start": 0, "end": 3, "category": "style"}]
        return {**base, "critique": "Too vague.", "suggestion": "", "spans": json.dumps(spans)}
    raise AssertionError(task_type)


def _current(campaign: Campaign) -> Assignment:
    return Assignment.objects.select_related("item", "campaign").get(
        campaign=campaign, status=AssignmentStatus.ACTIVE
    )


TASK_TYPES = [
    TaskType.PAIRWISE,
    TaskType.RANKING,
    TaskType.RATING,
    TaskType.EDIT,
    TaskType.CRITIQUE,
]


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_htmx_submit_and_next_task_take_at_most_ten_queries(
    task_type, django_assert_max_num_queries
):
    campaign = campaign_with(task_type, n_items=4, overlap=2)
    client = client_for(onboarded_annotator())
    assert client.get(reverse("campaign_work", args=[campaign.slug])).status_code == 200
    first = _current(campaign)
    r = client.post(reverse("task_submit", args=[first.pk]), _answer(first), **HX)
    assert r.status_code == 200, r.content[:300]
    second = _current(campaign)
    data = _answer(second)
    with django_assert_max_num_queries(MAX_QUERIES):
        r = client.post(reverse("task_submit", args=[second.pk]), data, **HX)
    assert r.status_code == 200, r.content[:300]
    assert Annotation.objects.filter(assignment=second).count() == 1
    third = _current(campaign)
    assert third.pk != second.pk
    assert f"/tasks/{third.pk}/submit/" in r.content.decode()  # the next task is served


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_plain_submit_and_the_next_task_page_take_at_most_ten_queries_each(
    task_type, django_assert_max_num_queries
):
    campaign = campaign_with(task_type, n_items=4, overlap=2)
    client = client_for(onboarded_annotator())
    client.get(reverse("campaign_work", args=[campaign.slug]))
    first = _current(campaign)
    client.post(reverse("task_submit", args=[first.pk]), _answer(first))
    second = _current(campaign)
    data = _answer(second)
    with django_assert_max_num_queries(MAX_QUERIES):
        r = client.post(reverse("task_submit", args=[second.pk]), data)
    assert r.status_code == 303
    with django_assert_max_num_queries(MAX_QUERIES):
        page = client.get(r["Location"])
    assert page.status_code == 200
    assert Annotation.objects.filter(assignment=second).exists()


def test_opening_the_campaign_again_takes_at_most_ten_queries(django_assert_max_num_queries):
    """The work page (gates cached, then the lease the annotator already holds)."""
    campaign = campaign_with(TaskType.PAIRWISE, n_items=3, overlap=2)
    client = client_for(onboarded_annotator())
    client.get(reverse("campaign_work", args=[campaign.slug]))
    with django_assert_max_num_queries(MAX_QUERIES):
        r = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert r.status_code == 200


def test_closing_a_live_conversation_takes_at_most_eleven_queries(
    settings, client, django_assert_max_num_queries
):
    """The conversation's submit is its closing step (attribute ratings + feedback). It
    answers with the re-rendered panel, which reads the assignment, the conversation and
    its replies once more: one statement over the other task types' budget."""
    from modelserve.generation.models import GenerationRequest
    from tests.conversation_helpers import (
        FAKE_BACKENDS,
        conversation_campaign,
        lease_conversation,
        run_pending_generations,
    )
    from tests.factories import AnnotatorFactory

    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS
    campaign, _endpoints = conversation_campaign(k=3, min_turns=1, max_turns=2)
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    client.force_login(annotator.user)

    def url(name: str) -> str:
        return reverse(name, kwargs={"assignment_id": assignment.pk})

    client.post(url("conversation_start"), {"text": "Hello there"}, **HX)
    run_pending_generations()
    ids = GenerationRequest.objects.filter(prompt__conversation__isnull=False).values_list(
        "pk", flat=True
    )
    scores = {f"score-{pk}": str(20 + n * 10) for n, pk in enumerate(ids)}
    client.post(url("conversation_rate"), scores, **HX)
    attributes = ["values", "creativity", "fluency", "factuality", "diversity", "safety"]
    data = {f"attr-{a}": "60" for a in [*attributes, "helpfulness"]} | {"feedback": "Nice."}
    with django_assert_max_num_queries(MAX_QUERIES + 1):
        finished = client.post(url("conversation_finish"), data, **HX)
    assert "Thank you" in finished.content.decode()
    assert Annotation.objects.filter(assignment=assignment).exists()
