"""The live conversation flow at the service level, with the scripted fake backend."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, AssignmentStatus, Item, Role, TaskType, Turn
from annotate.services.conversation import (
    ConversationError,
    conversation_choose,
    conversation_continue,
    conversation_finish,
    conversation_rate_opening,
    conversation_start,
)
from annotate.services.errors import NotFound
from modelserve.generation.models import GenerationRequest
from tests.conversation_helpers import (
    FAKE_BACKENDS,
    conversation_campaign,
    lease_conversation,
    run_pending_generations,
)
from tests.factories import AnnotatorFactory

pytestmark = pytest.mark.django_db

ATTRS = ["values", "creativity", "fluency", "factuality", "diversity", "safety", "helpfulness"]


@pytest.fixture(autouse=True)
def _fake(settings):
    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS


def _scores_for(conversation, values):
    step = conversation.metadata["turns"][-1]
    return dict(zip(step["requests"], values, strict=True))


def test_full_conversation_stores_tree_and_labels():
    campaign, _endpoints = conversation_campaign(k=4, min_turns=2, max_turns=3)
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    conv = conversation_start(
        assignment_id=assignment.pk, annotator=annotator, text="How do tides work?"
    )
    # Repeating the opening submit (double click) does not fork the conversation.
    again = conversation_start(assignment_id=assignment.pk, annotator=annotator, text="x")
    assert again.pk == conv.pk
    reqs = GenerationRequest.objects.filter(prompt__conversation=conv)
    assert reqs.count() == 4 and len({r.endpoint_id for r in reqs}) == 4

    with pytest.raises(ConversationError, match="Wait"):
        conversation_rate_opening(assignment_id=assignment.pk, annotator=annotator, scores={})
    assert run_pending_generations() == 4

    conv = conversation_rate_opening(
        assignment_id=assignment.pk,
        annotator=annotator,
        scores=_scores_for(conv, [40, 90, 10, 90]),
    )
    opening = conv.metadata["turns"][0]
    best_request = opening["requests"][1]  # tie at 90: the first shown wins
    assert opening["chosen_request"] == best_request
    best_endpoint = GenerationRequest.objects.get(pk=best_request).endpoint_id
    assert conv.metadata["endpoint_id"] == best_endpoint
    with pytest.raises(ConversationError, match="at least 2 turns"):
        conversation_finish(
            assignment_id=assignment.pk,
            annotator=annotator,
            attributes=dict.fromkeys(ATTRS, 50),
            feedback="",
        )

    conv = conversation_continue(
        assignment_id=assignment.pk, annotator=annotator, text="And spring tides?"
    )
    pair = GenerationRequest.objects.filter(pk__in=conv.metadata["turns"][1]["requests"])
    assert {r.endpoint_id for r in pair} == {best_endpoint}
    assert sorted(r.sample_index for r in pair) == [0, 1]
    run_pending_generations()
    conv = conversation_choose(
        assignment_id=assignment.pk,
        annotator=annotator,
        choice="B",
        scores={"A": "30", "B": "75"},
    )
    conv = conversation_finish(
        assignment_id=assignment.pk,
        annotator=annotator,
        attributes={a: 60 + n for n, a in enumerate(ATTRS)},
        feedback="Pretty good.",
    )
    assert conv.metadata["state"] == "closed"

    # The tree: user -> 4 answers; the best one -> user -> 2 answers.
    turns = list(Turn.objects.filter(conversation=conv).order_by("depth", "id"))
    assert [t.depth for t in turns] == [0, 1, 1, 1, 1, 2, 3, 3]
    root, answers = turns[0], turns[1:5]
    assert root.role == Role.USER and root.text == "How do tides work?"
    assert all(t.parent_id == root.pk and t.role == Role.ASSISTANT for t in answers)
    chosen_first = GenerationRequest.objects.get(pk=best_request).response.turn
    assert turns[5].parent_id == chosen_first.pk and turns[5].text == "And spring tides?"
    assert all(t.parent_id == turns[5].pk and t.response_id for t in turns[6:])
    assert turns[5].prompt.messages == [
        {"role": "user", "content": "How do tides work?"},
        {"role": "assistant", "content": chosen_first.text},
        {"role": "user", "content": "And spring tides?"},
    ]

    # Labels: opening rating (4) + 2 derived pairs (best vs the 40 and the 10),
    # later turn pairwise + rating, and the closing conversation annotation.
    notes = Annotation.objects.filter(annotator=annotator).order_by("id")
    kinds = [a.task_type for a in notes]
    assert kinds.count(TaskType.RATING) == 2
    assert kinds.count(TaskType.PAIRWISE) == 3
    assert kinds.count(TaskType.CONVERSATION) == 1
    opening_rating = notes.filter(task_type=TaskType.RATING).first().payload["ratings"]
    assert sorted(v["helpfulness"] for v in opening_rating.values()) == [10, 40, 90, 90]
    ab = notes.filter(task_type=TaskType.PAIRWISE).last()
    b_response = GenerationRequest.objects.get(pk=conv.metadata["turns"][1]["requests"][1])
    assert ab.payload["choice"] == "B" and ab.payload["chosen"] == b_response.response_id
    closing = notes.get(task_type=TaskType.CONVERSATION)
    assert closing.payload["attributes"]["values"] == 60
    assert closing.payload["feedback"] == "Pretty good."
    assert closing.payload["conversation_id"] == conv.pk
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED
    # Derived items are never served to anyone else.
    derived = Item.objects.filter(metadata__conversation_id=conv.pk)
    assert derived.count() == 5 and all(i.overlap == 1 and i.is_full for i in derived)


def test_max_turns_and_bad_input_are_refused():
    campaign, _ = conversation_campaign(k=2, min_turns=1, max_turns=1)
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    with pytest.raises(ConversationError, match="Write a message"):
        conversation_start(assignment_id=assignment.pk, annotator=annotator, text="   ")
    conv = conversation_start(assignment_id=assignment.pk, annotator=annotator, text="Hi")
    run_pending_generations()
    with pytest.raises(ConversationError, match="1 to 100"):
        conversation_rate_opening(
            assignment_id=assignment.pk, annotator=annotator, scores=_scores_for(conv, [0, 50])
        )
    conversation_rate_opening(
        assignment_id=assignment.pk, annotator=annotator, scores=_scores_for(conv, [50, 50])
    )
    with pytest.raises(ConversationError, match="last turn"):
        conversation_continue(assignment_id=assignment.pk, annotator=annotator, text="more")
    with pytest.raises(ConversationError, match="Choose A, B"):
        conversation_choose(assignment_id=assignment.pk, annotator=annotator, choice="C", scores={})


def test_someone_elses_conversation_is_not_found():
    campaign, _ = conversation_campaign(k=2)
    owner, intruder = AnnotatorFactory(), AnnotatorFactory()
    assignment = lease_conversation(campaign, owner)
    with pytest.raises(NotFound):
        conversation_start(assignment_id=assignment.pk, annotator=intruder, text="Hi")


def test_misconfigured_endpoint_is_a_clear_error_not_a_crash():
    from modelserve.generation.models import ModelEndpoint

    campaign, endpoints = conversation_campaign(k=2)
    ModelEndpoint.objects.filter(pk=endpoints[0].pk).update(params={"temprature": 0.5})
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    with pytest.raises(ConversationError, match=r"misconfigured.*temprature"):
        conversation_start(assignment_id=assignment.pk, annotator=annotator, text="Hi")
    campaign.model_pool.clear()
    with pytest.raises(ConversationError, match="No models"):
        conversation_start(assignment_id=assignment.pk, annotator=annotator, text="Hi")
