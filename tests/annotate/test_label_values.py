"""Issue 14: the label columns analytics reads (choice, shown_a/b, strength, gold_correct)
are filled by every writer, and migration 0019's SQL backfill reads the JSON exactly as
``label_values`` does."""

from __future__ import annotations

import importlib
import json

import pytest
from django.db import connection, transaction

from annotate.models import Annotation, AnnotationSource, ItemResponse, Judgment
from annotate.models.label_values import LABEL_VALUE_FIELDS, label_values, label_values_from_json
from annotate.services import annotation_submit, assignment_next
from annotate.services.bulk import bulk_insert
from annotate.services.judge_labels import judge_label_update
from annotate.services.judges import judge_create, judge_prompt_current
from tests.annotate.analytics.test_import_feedback import (
    GOOD_RANKINGS,
    GOOD_RATINGS,
    _run,
    _write,
)
from tests.factories import (
    AnnotatorFactory,
    AssignmentFactory,
    CampaignFactory,
    ItemFactory,
    ModelEndpointFactory,
)

pytestmark = pytest.mark.django_db

BACKFILL_SQL = importlib.import_module("annotate.migrations.0019_label_values").BACKFILL_SQL

# Payloads as JSON text (some cannot come from Python values: 1e400, duplicate keys).
PAYLOADS = [
    '{"choice": "A", "strength": -2, "response_ids": [5, 7]}',
    '{"choice": "tie", "strength": 0, "response_ids": ["12", "-3"]}',
    '{"choice": "B", "strength": 2.5, "response_ids": [1.0, 2.5]}',
    '{"choice": "a", "strength": "2", "response_ids": [true, null]}',
    '{"choice": ["A"], "response_ids": "12"}',
    '{"choice": 1, "response_ids": [" 12", "+3"]}',
    '{"response_ids": [99999999999999999999, -9223372036854775808]}',
    '{"response_ids": [9223372036854775807, "9223372036854775808"]}',
    '{"response_ids": [1e2, 12e-1], "strength": 1e400}',
    '{"response_ids": ["007", "-0"], "strength": 1e-400}',
    '{"response_ids": [{"id": 1}, [2]], "strength": 1e308}',
    '{"response_ids": {"0": 1}, "strength": -0.1}',
    '{"response_ids": [5], "strength": 1e-300, "choice": "B", "choice": "A"}',
    '{"strength": 0.30000000000000004, "choice": null}',
    "[1, 2, 3]",
    '"text"',
    "{}",
]
FLAGS = [
    "{}",
    '{"gold_correct": true}',
    '{"gold_correct": false}',
    '{"gold_correct": null}',
    '{"gold_correct": "TRUE"}',
    '{"gold_correct": "1"}',
    '{"gold_correct": "yes"}',
    '{"gold_correct": 1}',
    '{"gold_correct": 1.0}',
    '{"gold_correct": 0}',
    '{"gold_correct": 2}',
    '{"gold_correct": []}',
    '{"gold_correct": {"x": 1}}',
    "[]",
    '{"gold_correct": "1.0"}',
    '{"gold_correct": 1e0}',
    '{"too_fast": true}',
]


def _columns(pk: int) -> tuple:
    return Annotation.all_sources.filter(pk=pk).values_list(*LABEL_VALUE_FIELDS).get()


def test_the_rules_on_plain_values():
    assert label_values(
        {"choice": "A", "strength": -2, "response_ids": [5, 7]}, {"gold_correct": False}
    ) == (1, 5, 7, -2.0, False)
    assert label_values({"choice": "B", "response_ids": ["8", 9.0]}, {}) == (-1, 8, 9, None, None)
    assert label_values({"choice": "tie", "strength": True}, {"gold_correct": "True"}) == (
        0,
        None,
        None,
        None,
        True,
    )
    assert label_values({"ratings": {"3": {"helpfulness": 5}}}, None) == (None,) * 5


def test_backfill_sql_reads_the_json_as_label_values_does():
    assert len(PAYLOADS) == len(FLAGS)
    campaign = CampaignFactory()
    ids = []
    for _ in PAYLOADS:
        item = ItemFactory(campaign=campaign)
        ann = Annotation.objects.create(
            assignment=AssignmentFactory(item=item),
            item=item,
            campaign=campaign,
            annotator=AnnotatorFactory(),
            task_type="pairwise",
            payload={"choice": "A", "response_ids": [1, 2], "strength": -1},
            flags={"gold_correct": True},
        )
        ids.append(ann.pk)
    # As a row written before migration 0019: only the JSON, columns empty.
    with connection.cursor() as cursor:
        for pk, payload, flags in zip(ids, PAYLOADS, FLAGS, strict=True):
            cursor.execute(
                "UPDATE annotate_annotation SET payload = %s::jsonb, flags = %s::jsonb, "
                "choice = NULL, shown_a = NULL, shown_b = NULL, strength = NULL, "
                "gold_correct = NULL WHERE id = %s",
                [payload, flags, pk],
            )
        cursor.execute(BACKFILL_SQL)
    got = [_columns(pk) for pk in ids]
    want = [tuple(label_values_from_json(p, f)) for p, f in zip(PAYLOADS, FLAGS, strict=True)]
    assert got == want
    # The cases do reach every branch: values and nulls in every column.
    for i, name in enumerate(LABEL_VALUE_FIELDS):
        column = [row[i] for row in got]
        assert any(v is None for v in column) and any(v is not None for v in column), name
    assert got[0] == (1, 5, 7, -2.0, None)
    assert got[6][1:3] == (None, -(2**63)) and got[7][1:3] == (2**63 - 1, None)
    assert got[8][1:4] == (100, None, None) and got[12][0] == 1  # the last "choice" wins


def test_a_save_writes_what_the_backfill_would():
    campaign = CampaignFactory()
    cases = [json.loads(p) for p in PAYLOADS if "1e400" not in p and "1e-400" not in p]
    for payload in cases:
        item = ItemFactory(campaign=campaign)
        ann = Annotation.objects.create(
            assignment=AssignmentFactory(item=item),
            item=item,
            campaign=campaign,
            annotator=AnnotatorFactory(),
            task_type="pairwise",
            payload=payload,
            flags={"gold_correct": "1"},
        )
        saved = _columns(ann.pk)
        with connection.cursor() as cursor:
            cursor.execute(BACKFILL_SQL)
        assert _columns(ann.pk) == saved == tuple(label_values(payload, {"gold_correct": "1"}))


def test_pairwise_submit_fills_the_columns():
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign)
    annotator = AnnotatorFactory()
    assignment = assignment_next(annotator=annotator, campaign=campaign)
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        payload={"choice": "B", "strength": 2},
        time_spent_ms=900,
    )
    shown = [int(x) for x in assignment.presented_order]
    assert sorted(shown) == sorted(
        ItemResponse.objects.filter(item=item).values_list("response_id", flat=True)
    )
    assert _columns(annotation.pk) == (-1, shown[0], shown[1], 2.0, None)


def test_gold_verdict_is_stored_on_submit():
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign, is_gold=True, gold_answer={"tie": True})
    annotator = AnnotatorFactory()
    assignment = assignment_next(annotator=annotator, campaign=campaign)
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, payload={"choice": "A"}
    )
    assert annotation.flags.get("gold_correct") is False
    assert _columns(annotation.pk)[0::4] == (1, False)


def test_judge_labels_fill_the_columns_when_made_and_when_replaced():
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="smol", endpoint=ModelEndpointFactory())
    prompt = judge_prompt_current(judge=judge, task_type="pairwise")
    a, b = item.item_responses.order_by("position").values_list("response_id", flat=True)

    def judge_says(shown_ab: str, shown_ba: str) -> Annotation | None:
        Judgment.objects.filter(judge=judge, item=item).delete()
        for order, said in (("AB", shown_ab), ("BA", shown_ba)):
            Judgment.objects.create(
                judge=judge,
                item=item,
                judge_prompt=prompt,
                prompt_version=prompt.version,
                order=order,
                raw_output=said,
                parsed=said,
                parse_status="ok",
                parse_ok=True,
            )
        return judge_label_update(judge=judge, item=item, prompt=prompt)

    label = judge_says("A", "B")  # the first response both times
    assert label is not None and label.source == AnnotationSource.AI
    assert _columns(label.pk) == (1, a, b, None, None)
    again = judge_says("B", "A")  # replaced in place (save with update_fields)
    assert again.pk == label.pk
    assert _columns(label.pk) == (-1, a, b, None, None)


def test_bulk_writers_fill_the_columns():
    campaign = CampaignFactory()
    annotator = AnnotatorFactory()

    def unsaved(i: int) -> Annotation:
        item = ItemFactory(campaign=campaign)
        return Annotation(
            assignment=AssignmentFactory(item=item, annotator=annotator),
            item=item,
            campaign=campaign,
            annotator=annotator,
            task_type="pairwise",
            payload={"choice": "A", "strength": -i, "response_ids": [10 + i, 20 + i]},
            flags={"gold_correct": i % 2 == 0},
        )

    made = Annotation.objects.bulk_create([unsaved(1), unsaved(2)])
    with transaction.atomic():
        copied = bulk_insert([unsaved(3), unsaved(4)])  # COPY on PostgreSQL
    rows = [_columns(a.pk) for a in [*made, *copied]]
    assert rows == [(1, 10 + i, 20 + i, float(-i), i % 2 == 0) for i in (1, 2, 3, 4)]


def test_feedback_import_fills_the_columns(tmp_path):
    CampaignFactory(slug="tiny")
    _run("tiny", _write(tmp_path, "r.csv", GOOD_RATINGS), _write(tmp_path, "k.csv", GOOD_RANKINGS))
    rows = list(
        Annotation.objects.filter(campaign__slug="tiny").values_list(
            "task_type", "payload", "flags", *LABEL_VALUE_FIELDS
        )
    )
    assert {row[0] for row in rows} == {"rating", "pairwise"}
    for task, payload, flags, *columns in rows:
        assert tuple(columns) == tuple(label_values(payload, flags))
        if task == "pairwise":  # the comparisons: a choice and the two responses shown
            assert None not in columns[:3], payload
