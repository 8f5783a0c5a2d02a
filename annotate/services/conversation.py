"""The PRISM-style live conversation: open, rate K answers, continue as A/B pairs, close.

One conversation per assignment of a ``conversation`` item, found by
``Conversation(source="live", external_id="assignment:<id>")``. Its progress lives in
``Conversation.metadata`` (``state`` and one entry per rated turn) and every step locks
the assignment row first, so a double click or two tabs cannot fork the flow.

Every rated turn becomes ordinary labelled data through the core services: the opening
turn a rating item over the K answers plus a pairwise item "top-rated vs each
lower-rated answer"; every later turn a pairwise item (the A/B choice) and a rating item
(both scores). These items have overlap 1 and are leased to the conversation's author
only, so analytics and exports read them like any other annotation.

Campaign.config keys read here (all optional):
- ``conversation_models`` (int, default 4): models answering the opening prompt.
- ``conversation_min_turns`` (default 2) / ``conversation_max_turns`` (default 6): rated
  turns (the opening counts as one) before the annotator may / must end.
- ``conversation_attributes`` (list): closing attribute ratings, default
  values, creativity, fluency, factuality, diversity, safety, helpfulness.
Per-turn scores are 1-100 and are stored under the campaign's ``overall_attribute``
(mapped onto 1-7 for a Likert campaign; the raw score stays in item metadata).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate.models import (
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    Conversation,
    Prompt,
    Role,
    TaskType,
    Turn,
)
from modelserve.generation.backends import BackendError
from modelserve.generation.models import (
    GenerationPurpose,
    GenerationRequest,
    GenerationStatus,
    ModelEndpoint,
)
from modelserve.generation.requests import (
    candidate_plan,
    generation_requests_create,
    generation_retry,
)
from modelserve.generation.selectors import endpoint_pool

from .assignments import annotation_submit
from .conversation_input import ConversationError, clean_message, score_value
from .conversation_labels import conversation_item_answered, conversation_rating_payload
from .errors import NotFound

DEFAULT_ATTRIBUTES = [
    "values",
    "creativity",
    "fluency",
    "factuality",
    "diversity",
    "safety",
    "helpfulness",
]


def conversation_settings(campaign: Campaign) -> dict[str, Any]:
    config = campaign.config or {}
    low = max(1, int(config.get("conversation_min_turns", 2)))
    return {
        "k": max(1, min(8, int(config.get("conversation_models", 4)))),
        "min_turns": low,
        "max_turns": max(low, int(config.get("conversation_max_turns", 6))),
        "attributes": list(config.get("conversation_attributes") or DEFAULT_ATTRIBUTES),
    }


def _lock(assignment_id: int, annotator: Annotator, *, renew: bool = True) -> Assignment:
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("item", "campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None or assignment.item.task_type != TaskType.CONVERSATION:
        raise NotFound(gettext("No such task."))
    if assignment.status not in (AssignmentStatus.ACTIVE, AssignmentStatus.EXPIRED):
        raise ConversationError(gettext("This conversation is already finished."))
    if not renew:
        return assignment
    # A live chat outlasts a short lease; each step renews it so the slot stays ours.
    assignment.lease_expires_at = timezone.now() + timedelta(
        seconds=assignment.campaign.lease_seconds
    )
    assignment.save(update_fields=["lease_expires_at"])
    return assignment


def conversation_for(assignment: Assignment) -> Conversation | None:
    return Conversation.objects.filter(
        campaign_id=assignment.campaign_id,
        source="live",
        external_id=f"assignment:{assignment.pk}",
    ).first()


def _labels(endpoints: list[Any]) -> list[str]:
    """Anonymous labels: the endpoint's own, unless blank or repeated in this turn."""
    own = [e.anon_label.strip() for e in endpoints]
    if all(own) and len(set(own)) == len(own):
        return own
    return [f"Model {chr(ord('A') + n)}" for n in range(len(endpoints))]


def _ask(
    *,
    campaign: Campaign,
    conversation: Conversation,
    parent: Turn | None,
    text: str,
    plan: list[tuple[Any, dict[str, Any]]],
) -> dict[str, Any]:
    """Write the user turn and its prompt snapshot, then request the answers."""
    history: list[dict[str, str]] = []
    node = parent
    while node is not None:
        history.insert(0, {"role": node.role, "content": node.text})
        node = node.parent
    turn = Turn.objects.create(
        conversation=conversation,
        parent=parent,
        role=Role.USER,
        text=text,
        depth=0 if parent is None else parent.depth + 1,
    )
    messages = [*history, {"role": Role.USER, "content": text}]
    prompt = Prompt.objects.create(
        campaign=campaign,
        conversation=conversation,
        turn=turn,
        text=text,
        messages=messages,
        language=conversation.metadata.get("language") or "und",
        metadata={"source": "live"},
    )
    requests = generation_requests_create(
        campaign=campaign, prompt=prompt, plan=plan, purpose=GenerationPurpose.LIVE
    )
    random.shuffle(requests)  # display order, stored: position 0 is shown first / "A"
    return {
        "prompt_id": prompt.pk,
        "user_turn_id": turn.pk,
        "requests": [r.pk for r in requests],
        "labels": _labels([r.endpoint for r in requests]),
    }


def _plan(
    assignment: Assignment, endpoints: list[Any], k: int, strategies: list[str]
) -> list[tuple[Any, dict[str, Any]]]:
    """The candidates, in the item's language; a misconfigured endpoint: a clear error."""
    campaign, language = assignment.campaign, assignment.item.language
    try:
        return candidate_plan(
            campaign=campaign, endpoints=endpoints, k=k, strategies=strategies, language=language
        )
    except (BackendError, ValueError) as exc:
        raise ConversationError(
            gettext(
                "The models of this campaign are misconfigured (%(error)s); please tell the "
                "campaign's administrator."
            )
            % {"error": exc}
        ) from exc


def conversation_start(*, assignment_id: int, annotator: Annotator, text: str) -> Conversation:
    """Open the conversation with the annotator's first message; K models answer."""

    text = clean_message(text)
    with transaction.atomic():
        assignment = _lock(assignment_id, annotator)
        existing = conversation_for(assignment)
        if existing is not None:
            return existing  # a repeated submit of the opening message
        campaign = assignment.campaign
        settings = conversation_settings(campaign)
        endpoints = endpoint_pool(campaign=campaign)
        if not endpoints:
            raise ConversationError(gettext("No models are available for this campaign yet."))
        strategies = (
            ["endpoints"]
            if len(endpoints) >= settings["k"]
            else [
                "endpoints",
                "temperatures",
            ]
        )
        plan = _plan(assignment, endpoints, settings["k"], strategies)
        conversation = Conversation.objects.create(
            campaign=campaign,
            source="live",
            external_id=f"assignment:{assignment.pk}",
            created_by=annotator.user,
            metadata={"assignment_id": assignment.pk, "state": "rating", "turns": []}
            | {"language": assignment.item.language},  # its prompts' (and answers')
        )
        step = _ask(campaign=campaign, conversation=conversation, parent=None, text=text, plan=plan)
        conversation.metadata["turns"].append({"kind": "opening", **step})
        conversation.save(update_fields=["metadata"])
    return conversation


def _own_conversation(assignment: Assignment, state: str) -> Conversation:
    conversation = conversation_for(assignment)
    if conversation is None:
        raise ConversationError(gettext("Start the conversation first."))
    if conversation.metadata.get("state") != state:
        raise ConversationError(gettext("That step does not fit where this conversation is."))
    return conversation


def _finished_requests(step: dict[str, Any], wait: str) -> list[Any]:
    """The step's generation requests, in order; ``wait`` is said while any still runs."""

    by_id = {
        r.pk: r
        for r in GenerationRequest.objects.filter(pk__in=step["requests"]).select_related(
            "response"
        )
    }
    requests = [by_id[pk] for pk in step["requests"] if pk in by_id]
    if any(not r.is_finished for r in requests):
        raise ConversationError(wait)
    return requests


def conversation_rate_opening(
    *, assignment_id: int, annotator: Annotator, scores: dict[int, Any]
) -> Conversation:
    """Rate the K opening answers (1-100); the best-rated model carries the chat on."""

    with transaction.atomic():
        assignment = _lock(assignment_id, annotator)
        conversation = _own_conversation(assignment, "rating")
        step = conversation.metadata["turns"][-1]
        requests = _finished_requests(
            step, gettext("Wait until every model has finished answering.")
        )
        done = [r for r in requests if r.status == GenerationStatus.DONE]
        if not done:
            raise ConversationError(gettext("No model could answer; try again."))
        labels = dict(zip(step["requests"], step["labels"], strict=True))
        clean = {r.pk: score_value(scores.get(r.pk), labels[r.pk]) for r in done}
        best = max(done, key=lambda r: clean[r.pk])  # ties: first shown wins
        by_response = {r.response_id: clean[r.pk] for r in done}
        campaign = assignment.campaign
        meta = {"conversation_id": conversation.pk, "turn": 1, "raw_scores": by_response}
        conversation_item_answered(
            assignment=assignment,
            annotator=annotator,
            task_type=TaskType.RATING,
            prompt_id=step["prompt_id"],
            responses=[r.response for r in done],
            payload=conversation_rating_payload(campaign, by_response),
            metadata=meta,
        )
        for other in done:
            if clean[other.pk] < clean[best.pk]:
                conversation_item_answered(
                    assignment=assignment,
                    annotator=annotator,
                    task_type=TaskType.PAIRWISE,
                    prompt_id=step["prompt_id"],
                    responses=[best.response, other.response],
                    payload={"choice": "A"},
                    metadata={**meta, "derived_from": "ratings"},
                )
        step.update(
            scores={str(k): v for k, v in clean.items()},
            chosen_request=best.pk,
            chosen_turn_id=best.response.turn.pk,
        )
        conversation.metadata["endpoint_id"] = best.endpoint_id
        conversation.metadata["state"] = "writing"
        conversation.save(update_fields=["metadata"])
    return conversation


def conversation_continue(*, assignment_id: int, annotator: Annotator, text: str) -> Conversation:
    """The annotator's next message; the chosen model answers twice (an A/B pair)."""

    text = clean_message(text)
    with transaction.atomic():
        assignment = _lock(assignment_id, annotator)
        conversation = _own_conversation(assignment, "writing")
        settings = conversation_settings(assignment.campaign)
        if len(conversation.metadata["turns"]) >= settings["max_turns"]:
            raise ConversationError(
                gettext("That was the last turn; please finish the conversation.")
            )
        endpoint = ModelEndpoint.objects.get(pk=conversation.metadata["endpoint_id"])
        plan = _plan(assignment, [endpoint], 2, [])
        parent = Turn.objects.get(pk=conversation.metadata["turns"][-1]["chosen_turn_id"])
        step = _ask(
            campaign=assignment.campaign,
            conversation=conversation,
            parent=parent,
            text=text,
            plan=plan,
        )
        step["labels"] = ["A", "B"]
        conversation.metadata["turns"].append({"kind": "pair", **step})
        conversation.metadata["state"] = "choosing"
        conversation.save(update_fields=["metadata"])
    return conversation


def conversation_choose(
    *, assignment_id: int, annotator: Annotator, choice: str, scores: dict[str, Any]
) -> Conversation:
    """Pick A or B (or tie) and score both; the chosen reply continues the chat."""

    choice = (choice or "").strip()
    choice = "tie" if choice.lower() == "tie" else choice.upper()
    if choice not in ("A", "B", "tie"):
        raise ConversationError(gettext("Choose A, B or tie."))
    with transaction.atomic():
        assignment = _lock(assignment_id, annotator)
        conversation = _own_conversation(assignment, "choosing")
        step = conversation.metadata["turns"][-1]
        requests = _finished_requests(step, gettext("Wait until both replies have finished."))
        if any(r.status != GenerationStatus.DONE for r in requests):
            raise ConversationError(gettext("A reply failed; ask the model again."))
        a, b = requests
        clean = {
            "A": score_value(scores.get("A"), "reply A"),
            "B": score_value(scores.get("B"), "reply B"),
        }
        turn_no = len(conversation.metadata["turns"])
        meta = {"conversation_id": conversation.pk, "turn": turn_no}
        by_response = {a.response_id: clean["A"], b.response_id: clean["B"]}
        conversation_item_answered(
            assignment=assignment,
            annotator=annotator,
            task_type=TaskType.PAIRWISE,
            prompt_id=step["prompt_id"],
            responses=[a.response, b.response],
            payload={"choice": choice},
            metadata=meta,
        )
        conversation_item_answered(
            assignment=assignment,
            annotator=annotator,
            task_type=TaskType.RATING,
            prompt_id=step["prompt_id"],
            responses=[a.response, b.response],
            payload=conversation_rating_payload(assignment.campaign, by_response),
            metadata={**meta, "raw_scores": by_response},
        )
        chosen = b if choice == "B" else a
        step.update(
            choice=choice,
            scores=clean,
            chosen_request=chosen.pk,
            chosen_turn_id=chosen.response.turn.pk,
        )
        conversation.metadata["state"] = "writing"
        conversation.save(update_fields=["metadata"])
    return conversation


def conversation_finish(
    *, assignment_id: int, annotator: Annotator, attributes: dict[str, Any], feedback: str
) -> Conversation:
    """Close with attribute ratings (1-100) and free-text feedback; submits the task."""
    with transaction.atomic():
        # The closing step ends the lease: no renewal (the submit marks it submitted).
        assignment = _lock(assignment_id, annotator, renew=False)
        conversation = _own_conversation(assignment, "writing")
        settings = conversation_settings(assignment.campaign)
        if len(conversation.metadata["turns"]) < settings["min_turns"]:
            raise ConversationError(
                gettext("Keep chatting: at least %(n)s turns before you finish.")
                % {"n": settings["min_turns"]}
            )
        clean = {a: score_value(attributes.get(a), a) for a in settings["attributes"]}
        conversation.metadata["state"] = "closed"
        conversation.metadata["finished_at"] = timezone.now().isoformat()
        conversation.save(update_fields=["metadata"])
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            payload={
                "attributes": clean,
                "feedback": (feedback or "")[:20000],
                "conversation_id": conversation.pk,
            },
            locked=assignment,
        )
    return conversation


def conversation_retry_failed(*, assignment_id: int, annotator: Annotator) -> int:
    """Ask again for the current turn's failed replies."""

    with transaction.atomic():
        assignment = _lock(assignment_id, annotator)
        conversation = conversation_for(assignment)
        if conversation is None or conversation.metadata.get("state") not in (
            "rating",
            "choosing",
        ):
            return 0
        return generation_retry(request_ids=conversation.metadata["turns"][-1]["requests"])
