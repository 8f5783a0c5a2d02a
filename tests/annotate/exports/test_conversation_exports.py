"""Exports of live-conversation campaigns: every shape in every format parses and counts.

The labels come from the conversation services themselves (opening ratings, derived
pairs, an A/B choice with its scores, the closing annotation), so the export reads what
a real user's campaign holds: derived items with a prompt inside the conversation, and
the conversation item itself with no prompt and no responses.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import Annotation, Conversation, Export, ExportStatus, Prompt, TaskType
from annotate.roles import RESEARCHER_GROUP
from annotate.services.conversation import (
    conversation_choose,
    conversation_continue,
    conversation_finish,
    conversation_rate_opening,
    conversation_start,
)
from tests.annotate.api.conftest import annotator_with_profile, label_everything
from tests.conversation_helpers import (
    FAKE_BACKENDS,
    conversation_campaign,
    lease_conversation,
    run_pending_generations,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ATTRS = ["values", "creativity", "fluency", "factuality", "diversity", "safety", "helpfulness"]
SHAPES = ["raw", "trl-preference", "trl-unpaired", "ranking", "prism"]
FORMATS = ["jsonl", "csv", "parquet"]
CONVERSATIONAL_SHAPES = ["trl-preference", "trl-unpaired", "ranking"]  # conversational=1

# One conversation (k=4; opening scores 40/90/10/90; then B chosen, scored 30/75) leaves:
# an opening rating over 4 answers, 2 derived pairs (best vs the 40 and the 10), the A/B
# pair, the A/B rating over 2 answers, and the closing conversation annotation.
PER_CONVERSATION = {
    "raw": 6,
    # pairwise 3; opening rating 5 (the 90-90 tie dropped); A/B rating 1.
    "trl-preference": 3 + 5 + 1,
    # slider 1-100, threshold 50.5: 40 F, 90 T, 10 F, 90 T; 30 F, 75 T.
    "trl-unpaired": 6,
    "ranking": 0,
    # utterances: ratings 4 + 2, pairs 3 x 2 responses.
    "utterances": 4 + 2 + 3 * 2,
}
# label_everything on imported items: pairwise 2 (one a tie), ranking, rating, edit.
PER_LABELLER = {
    "raw": 5,
    # pairwise 1 (the tie dropped); ranking [[r2], [r1, r3]] 2; rating 6/2/6 2; edit 1.
    "trl-preference": 1 + 2 + 2 + 1,
    # ratings 6/2/6 on this campaign's 1-100 slider (threshold 50.5): all three below.
    "trl-unpaired": 3,
    "ranking": 1,
    # pairwise winner + loser, ranking 3, rating 3; the tie and the edit give none.
    "utterances": 2 + 3 + 3,
}


@pytest.fixture(autouse=True)
def _fake(settings: Any) -> None:
    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS


def _scores_for(conversation: Conversation, values: list[int]) -> dict[int, int]:
    step = conversation.metadata["turns"][-1]
    return dict(zip(step["requests"], values, strict=True))


def run_conversation(campaign: Any, annotator: Any) -> Conversation:
    """One full live conversation through the services (two rated turns, closed)."""
    assignment = lease_conversation(campaign, annotator)
    pk = assignment.pk
    conv = conversation_start(assignment_id=pk, annotator=annotator, text="How do tides work?")
    run_pending_generations()
    conv = conversation_rate_opening(
        assignment_id=pk, annotator=annotator, scores=_scores_for(conv, [40, 90, 10, 90])
    )
    conversation_continue(assignment_id=pk, annotator=annotator, text="And spring tides?")
    run_pending_generations()
    conversation_choose(
        assignment_id=pk, annotator=annotator, choice="B", scores={"A": "30", "B": "75"}
    )
    return conversation_finish(
        assignment_id=pk,
        annotator=annotator,
        attributes={a: 60 + n for n, a in enumerate(ATTRS)},
        feedback="Pretty good.",
    )


def _client_for(campaign: Any) -> APIClient:
    group, _ = Group.objects.get_or_create(name=RESEARCHER_GROUP)
    researcher = UserFactory(username=f"res-{campaign.slug}")
    researcher.groups.add(group)
    campaign.grants.create(user=researcher)
    token, _ = Token.objects.get_or_create(user=researcher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _annotators() -> list[Any]:
    return [
        annotator_with_profile("conv-1-person", residence_country="GB", age_band="25-34"),
        annotator_with_profile("conv-2-person", residence_country="FR", age_band="25-34"),
    ]


@pytest.fixture
def conversation_world() -> dict[str, Any]:
    """A conversation campaign where two annotators each held one full conversation."""
    campaign, _ = conversation_campaign(k=4, min_turns=2, max_turns=3)
    annotators = _annotators()
    # The helper made one conversation item (overlap 1); one more for the second person.
    campaign.items.create(task_type=TaskType.CONVERSATION, overlap=1)
    conversations = [run_conversation(campaign, a) for a in annotators]
    return {
        "campaign": campaign,
        "annotators": annotators,
        "conversations": conversations,
        "client": _client_for(campaign),
        "n_conversations": len(conversations),
        "n_labellers": 0,
    }


@pytest.fixture
def mixed_world(conversation_world: dict[str, Any]) -> dict[str, Any]:
    """The same campaign with imported pairwise/ranking/rating/edit labels as well.

    One labeller's prompts sit in (imported) conversations, the other's do not: PRISM
    utterances only come from labels given inside a conversation.
    """
    campaign = conversation_world["campaign"]
    campaign.task_mix = {"conversation": 1, "pairwise": 1}
    campaign.save(update_fields=["task_mix"])
    first, second = conversation_world["annotators"]
    before = set(Prompt.objects.filter(campaign=campaign).values_list("pk", flat=True))
    label_everything(campaign, first)
    for prompt in Prompt.objects.filter(campaign=campaign).exclude(pk__in=before):
        prompt.conversation = Conversation.objects.create(campaign=campaign, source="test")
        prompt.save(update_fields=["conversation"])
    label_everything(campaign, second)
    return {**conversation_world, "n_labellers": 2, "n_labellers_in_conversations": 1}


def _get(world: dict[str, Any], **params: Any) -> Any:
    return world["client"].get(f"/api/v1/campaigns/{world['campaign'].slug}/export", params)


def _parse(fmt: str, data: bytes) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data.decode())))
    return pq.read_table(pa.BufferReader(data)).to_pylist()


def _expected(world: dict[str, Any], key: str) -> int:
    n_in_convs = world.get("n_labellers_in_conversations", 0)
    per_labeller = world["n_labellers"] if key != "utterances" else n_in_convs
    return world["n_conversations"] * PER_CONVERSATION[key] + per_labeller * PER_LABELLER[key]


def _check_all(world: dict[str, Any]) -> None:
    campaign = world["campaign"]
    n_annotations = Annotation.objects.filter(campaign=campaign).count()
    assert _expected(world, "raw") == n_annotations  # the hand count matches the database
    cases = [(shape, fmt, 0) for shape in SHAPES for fmt in FORMATS]
    cases += [(shape, fmt, 1) for shape in CONVERSATIONAL_SHAPES for fmt in FORMATS]
    for shape, fmt, conversational in cases:
        case = (shape, fmt, conversational)
        response = _get(world, shape=shape, format=fmt, conversational=conversational)
        assert response.status_code == 200, (case, response.content)
        body = b"".join(response.streaming_content)
        export = Export.objects.get(pk=int(response["X-Chorus-Export-Id"]))
        assert export.status == ExportStatus.DONE, (case, export.error)
        if shape != "prism":
            rows = _parse(fmt, body)
            assert len(rows) == _expected(world, shape), case
            assert export.row_count == len(rows), case
            continue
        archive = zipfile.ZipFile(io.BytesIO(body))
        assert archive.testzip() is None
        names = {n: f"{n}.{fmt}" for n in ("survey", "conversations", "utterances")}
        assert sorted(archive.namelist()) == sorted(names.values())
        members = {n: _parse(fmt, archive.read(f)) for n, f in names.items()}
        annotators = {a.pseudonym for a in world["annotators"]}
        assert {r["annotator_id"] for r in members["survey"]} == annotators
        assert len(members["utterances"]) == _expected(world, "utterances"), fmt
        live = [r for r in members["conversations"] if r["source"] == "live"]
        assert len(live) == world["n_conversations"], fmt
        assert {int(r["conversation_id"]) for r in live} == {c.pk for c in world["conversations"]}
        n_utterances = sum(int(r["n_utterances"]) for r in members["conversations"])
        assert n_utterances == len(members["utterances"])
        for row in live:
            assert row["opening_prompt"] == "How do tides work?"
            assert row["feedback"] == "Pretty good.", (fmt, row)


def test_conversation_campaign_exports_every_shape_and_format(conversation_world):
    _check_all(conversation_world)


def test_mixed_campaign_exports_every_shape_and_format(mixed_world):
    _check_all(mixed_world)


def test_raw_rows_of_the_closing_annotation_have_no_prompt(conversation_world):
    response = _get(conversation_world, shape="raw", format="jsonl")
    rows = _parse("jsonl", b"".join(response.streaming_content))
    closing = [r for r in rows if r["task_type"] == "conversation"]
    assert len(closing) == 2
    assert all(r["prompt"] is None and r["messages"] == [] for r in closing)
    assert all(r["responses"] == [] for r in closing)
    turns = [r for r in rows if r["task_type"] != "conversation"]
    assert {r["prompt"] for r in turns} == {"How do tides work?", "And spring tides?"}
