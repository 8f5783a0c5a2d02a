"""Reads for the live conversation page: what to show, never which model said it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotate.i18n.labels import attribute_labels, generation_notice
from annotate.models import Annotator, Assignment, Conversation, TaskType
from annotate.services.conversation import conversation_for, conversation_settings
from annotate.services.errors import NotFound
from modelserve.generation.models import GenerationRequest


@dataclass
class Candidate:
    label: str
    request_id: int
    text: str
    status: str
    score: int | None = None
    chosen: bool = False
    finish_reason: str = ""  # "length": the reply hit its token budget ("cut off")
    notice: str = ""  # e.g. the conversation was cut to fit the model's context

    @property
    def cut_off(self) -> bool:
        return self.status == "done" and self.finish_reason == "length"

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


@dataclass
class TurnView:
    kind: str  # "opening" | "pair"
    user_text: str
    candidates: list[Candidate]
    choice: str = ""


@dataclass
class ConversationView:
    assignment: Assignment
    conversation: Conversation | None
    state: str  # "new" | "rating" | "writing" | "choosing" | "closed"
    turns: list[TurnView] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def attribute_labels(self) -> list[tuple[str, str]]:
        """The closing ratings' attributes with the names annotators read."""
        return attribute_labels(list(self.settings.get("attributes", [])))

    @property
    def current(self) -> TurnView | None:
        return self.turns[-1] if self.turns else None

    @property
    def generating(self) -> bool:
        cur = self.current
        return bool(
            cur
            and self.state in ("rating", "choosing")
            and any(not c.finished for c in cur.candidates)
        )

    @property
    def any_failed(self) -> bool:
        cur = self.current
        return bool(cur and any(c.status == "failed" for c in cur.candidates))

    @property
    def n_turns(self) -> int:
        return len(self.turns)

    @property
    def can_finish(self) -> bool:
        return self.state == "writing" and self.n_turns >= self.settings["min_turns"]

    @property
    def can_continue(self) -> bool:
        return self.state == "writing" and self.n_turns < self.settings["max_turns"]


def conversation_view(*, assignment_id: int, annotator: Annotator) -> ConversationView:
    """The page state for the annotator's own conversation assignment (NotFound if not)."""
    assignment = (
        Assignment.objects.select_related("item", "campaign")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None or assignment.item.task_type != TaskType.CONVERSATION:
        raise NotFound("No such task.")
    settings = conversation_settings(assignment.campaign)
    conversation = conversation_for(assignment)
    if conversation is None:
        return ConversationView(assignment, None, "new", settings=settings)
    steps = conversation.metadata.get("turns", [])
    ids = [pk for step in steps for pk in step["requests"]]
    requests = {
        r.pk: r
        for r in GenerationRequest.objects.filter(pk__in=ids).select_related("response", "prompt")
    }
    turns = []
    for step in steps:
        scores = step.get("scores") or {}
        user_text = ""
        candidates = []
        for pk, label in zip(step["requests"], step["labels"], strict=True):
            req = requests.get(pk)
            if req is None:
                continue
            user_text = req.prompt.text
            text = req.response.text if req.response is not None else req.partial_text
            score = scores.get(str(pk)) if step["kind"] == "opening" else scores.get(label)
            candidates.append(
                Candidate(
                    label=label,
                    request_id=pk,
                    text=text,
                    status=req.status,
                    score=score,
                    chosen=step.get("chosen_request") == pk,
                    finish_reason=req.finish_reason,
                    notice=generation_notice(req.notice),
                )
            )
        turns.append(TurnView(step["kind"], user_text, candidates, step.get("choice", "")))
    return ConversationView(
        assignment, conversation, conversation.metadata.get("state", "rating"), turns, settings
    )
