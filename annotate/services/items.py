"""Adding work to a campaign: conversations, prompts, responses and items, in bulk.

Importers and generators describe items as plain ``ItemSpec`` values; ``items_add``
writes them with one bulk insert per table (per tree depth for turns), inside one
transaction, so an import of thousands of items is fast and never half-done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from annotate.campaign_config import section_values
from annotate.campaign_config.overlap import AdaptiveOverlap
from annotate.input.checks import InputError
from annotate.input.language import UNDETERMINED, language_tag
from annotate.models import (
    Campaign,
    Conversation,
    Item,
    ItemResponse,
    Prompt,
    Response,
    Role,
    TaskType,
    Turn,
)

from .bulk import bulk_insert

# How many responses each task type shows. None means "at least the lower bound".
RESPONSE_COUNTS: dict[str, tuple[int, int | None]] = {
    TaskType.PAIRWISE: (2, 2),
    TaskType.RANKING: (2, None),
    # Best-worst scaling: from K >= 3 responses (with two it is a pairwise choice).
    TaskType.BWS: (3, None),
    TaskType.RATING: (1, None),
    TaskType.EDIT: (1, 1),
    TaskType.CRITIQUE: (1, 1),
    TaskType.CONVERSATION: (0, 0),
}
MAX_RESPONSES = 16
# Characters in one prompt message or response: the API's limit (ItemInSerializer) is the
# importers' limit, since both come through ItemSpec.check (a 50 MB reply was imported).
ITEM_TEXT_MAX = 100_000


class ItemSpecError(ValueError):
    pass


@dataclass(frozen=True)
class ResponseSpec:
    text: str
    source: str = ""
    endpoint_id: int | None = None
    policy_version_id: int | None = None
    generation_params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    # None: the item's language (a reply is in the language it was asked in).
    language: str | None = None


@dataclass(frozen=True)
class ItemSpec:
    """One unit of work. ``messages`` is the chat so far, ending with a user message."""

    task_type: str
    messages: Sequence[dict[str, str]]
    responses: Sequence[ResponseSpec]
    source: str = "import"
    external_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    priority: float = 0.0
    is_gold: bool = False
    is_attention_check: bool = False
    gold_answer: Any = None
    overlap: int | None = None
    # BCP 47 tag (annotate/input/language.py) of the prompt, the item and, unless a
    # response says otherwise, its responses. Stored normalised ("pt-BR" -> "pt-br").
    language: str = UNDETERMINED
    # Imports of real preference data may keep an empty reply (a labeller preferred
    # silence); everything else must show annotators some text.
    allow_empty_responses: bool = False

    def check(self) -> None:
        """Raise ItemSpecError with a sentence a person can act on."""
        if self.task_type not in TaskType.values:
            raise ItemSpecError(f"unknown task type {self.task_type!r}")
        if not self.messages:
            raise ItemSpecError("the prompt is empty")
        for message in self.messages:
            if not isinstance(message, dict) or message.get("role") not in Role.values:
                raise ItemSpecError("each message needs a role of user, assistant or system")
            if not isinstance(message.get("content"), str) or not message["content"].strip():
                raise ItemSpecError("each message needs non-empty text content")
            if len(message["content"]) > ITEM_TEXT_MAX:
                raise ItemSpecError(f"a prompt message is longer than {ITEM_TEXT_MAX} characters")
        if self.messages[-1]["role"] != Role.USER:
            raise ItemSpecError("the prompt must end with a user message")
        low, high = RESPONSE_COUNTS[self.task_type]
        n = len(self.responses)
        if n < low or (high is not None and n > high) or n > MAX_RESPONSES:
            wanted = f"{low}" if low == high else f"{low} or more"
            raise ItemSpecError(f"a {self.task_type} item needs {wanted} responses, got {n}")
        for n, response in enumerate(self.responses, start=1):
            if len(response.text) > ITEM_TEXT_MAX:
                raise ItemSpecError(
                    f"response {n} is longer than {ITEM_TEXT_MAX} characters ({len(response.text)})"
                )
        empty = sum(1 for response in self.responses if not response.text.strip())
        if empty and (not self.allow_empty_responses or empty == n):
            raise ItemSpecError("a response is empty")
        if self.overlap is not None and not 1 <= self.overlap <= 100:
            raise ItemSpecError("overlap must be between 1 and 100")
        try:
            language_tag(self.language)
            for n, response in enumerate(self.responses, start=1):
                if response.language is not None:
                    language_tag(response.language, field=f"response {n} language")
        except InputError as exc:
            raise ItemSpecError(str(exc)) from None


def item_base_overlap(*, campaign: Campaign) -> int:
    """The overlap a new item starts with: the adaptive-overlap base when that is on
    (annotate/services/adaptive_overlap.py raises it on disagreement), else the
    campaign's overlap."""
    settings = section_values(campaign.config, AdaptiveOverlap)
    assert isinstance(settings, AdaptiveOverlap)
    if settings.enabled and settings.base_overlap is not None:
        return settings.base_overlap
    return campaign.overlap


@transaction.atomic
def items_add(
    *, campaign: Campaign, specs: Iterable[ItemSpec], batch_size: int = 500
) -> list[Item]:
    """Create the items described by ``specs`` (all or nothing). Returns them in order."""
    specs = list(specs)
    for spec in specs:
        spec.check()
    created: list[Item] = []
    for start in range(0, len(specs), batch_size):
        created.extend(_add_batch(campaign, specs[start : start + batch_size]))
    _work_added(campaign)
    return created


def _work_added(campaign: Campaign) -> None:
    """New items: a campaign marked done is open again (annotate.services.campaign_done)."""
    Campaign.objects.filter(pk=campaign.pk, done_at__isnull=False).update(done_at=None)


def _add_batch(campaign: Campaign, specs: list[ItemSpec]) -> list[Item]:
    base_overlap = item_base_overlap(campaign=campaign)
    conversations = bulk_insert(
        [
            Conversation(
                campaign=campaign,
                source=spec.source,
                external_id=spec.external_id,
                metadata=spec.metadata,
            )
            for spec in specs
        ]
    )
    # Turns are inserted one tree level at a time so each level knows its parents' ids.
    last_turn: list[Turn | None] = [None] * len(specs)
    depth = 0
    while True:
        level = [
            (
                n,
                Turn(
                    conversation=conversations[n],
                    parent=last_turn[n],
                    role=spec.messages[depth]["role"],
                    text=spec.messages[depth]["content"],
                    depth=depth,
                ),
            )
            for n, spec in enumerate(specs)
            if depth < len(spec.messages)
        ]
        if not level:
            break
        bulk_insert([turn for _, turn in level])
        for n, turn in level:
            last_turn[n] = turn
        depth += 1

    # check() accepted every tag; this is only their stored (lower-case) form.
    languages = [language_tag(spec.language) for spec in specs]
    prompts = bulk_insert(
        [
            Prompt(
                campaign=campaign,
                conversation=conversations[n],
                turn=last_turn[n],
                text=spec.messages[-1]["content"],
                messages=[{"role": m["role"], "content": m["content"]} for m in spec.messages],
                external_id=spec.external_id,
                language=languages[n],
                metadata=spec.metadata,
            )
            for n, spec in enumerate(specs)
        ]
    )
    responses = bulk_insert(
        [
            Response(
                prompt=prompts[n],
                text=r.text,
                source=r.source or spec.source,
                endpoint_id=r.endpoint_id,
                policy_version_id=r.policy_version_id,
                generation_params=r.generation_params,
                metadata=r.metadata,
                language=languages[n] if r.language is None else language_tag(r.language),
                sample_index=i,
            )
            for n, spec in enumerate(specs)
            for i, r in enumerate(spec.responses)
        ]
    )
    items = bulk_insert(
        [
            Item(
                campaign=campaign,
                task_type=spec.task_type,
                prompt=prompts[n],
                language=languages[n],
                overlap=spec.overlap or base_overlap,
                priority=spec.priority,
                is_gold=spec.is_gold,
                is_attention_check=spec.is_attention_check,
                gold_answer=spec.gold_answer,
                metadata=spec.metadata,
            )
            for n, spec in enumerate(specs)
        ]
    )
    links = []
    cursor = 0
    for n, spec in enumerate(specs):
        for position in range(len(spec.responses)):
            links.append(ItemResponse(item=items[n], response=responses[cursor], position=position))
            cursor += 1
    bulk_insert(links)
    return items


@transaction.atomic
def item_create_for_responses(
    *,
    campaign: Campaign,
    task_type: str,
    prompt: Prompt,
    responses: Sequence[Response],
    priority: float = 0.0,
    metadata: dict[str, Any] | None = None,
) -> Item:
    """An item over responses that already exist (e.g. generated or reused)."""
    low, high = RESPONSE_COUNTS[task_type]
    if len(responses) < low or (high is not None and len(responses) > high):
        raise ItemSpecError(f"a {task_type} item cannot have {len(responses)} responses")
    item = Item.objects.create(
        campaign=campaign,
        task_type=task_type,
        prompt=prompt,
        language=prompt.language,
        overlap=item_base_overlap(campaign=campaign),
        priority=priority,
        metadata=metadata or {},
    )
    ItemResponse.objects.bulk_create(
        [ItemResponse(item=item, response=r, position=p) for p, r in enumerate(responses)]
    )
    _work_added(campaign)
    return item


@transaction.atomic
def conversation_items_add(
    *,
    campaign: Campaign,
    n: int,
    overlap: int | None = None,
    priority: float = 0.0,
    metadata: dict[str, Any] | None = None,
    language: str = UNDETERMINED,
) -> list[Item]:
    """Create ``n`` live-conversation (PRISM) items: no prompt, no responses.

    The annotator writes the opening prompt and the campaign's model pool answers live,
    so an item here is only a slot of work; ``overlap`` (default: the campaign's) is how
    many annotators each slot admits. ``language``: the language the conversation is
    held in (the models are asked to answer in it).
    """
    if not 1 <= n <= 100_000:
        raise ItemSpecError("n must be between 1 and 100000")
    try:
        language = language_tag(language)
    except InputError as exc:
        raise ItemSpecError(str(exc)) from None
    overlap = overlap or item_base_overlap(campaign=campaign)
    if not 1 <= overlap <= 100:
        raise ItemSpecError("overlap must be between 1 and 100")
    items = bulk_insert(
        [
            Item(
                campaign=campaign,
                task_type=TaskType.CONVERSATION,
                prompt=None,
                language=language,
                overlap=overlap,
                priority=priority,
                metadata=dict(metadata or {}),
            )
            for _ in range(n)
        ]
    )
    _work_added(campaign)
    return items
