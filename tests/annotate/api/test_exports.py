"""Export endpoint: every shape and format, privacy, reproducibility records, bad input."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotate.exports.schemas import columns_for, prism_columns
from annotate.exports.writers import arrow_schema
from annotate.models import Export, ExportStatus


def _export(world: Any, who: str = "res_a", slug: str = "alpha", **params: Any) -> Any:
    return world.client(who).get(f"/api/v1/campaigns/{slug}/export", params)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _jsonl(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in _body(response).decode().splitlines()]


def test_raw_jsonl_has_every_annotation_with_pseudonyms_and_no_usernames(world):
    rows = _jsonl(_export(world, shape="raw", format="jsonl"))
    assert len(rows) == 10  # 5 labels x 2 annotators in alpha
    pseudonyms = {world.ann_1.pseudonym, world.ann_2.pseudonym}
    assert {r["annotator_id"] for r in rows} == pseudonyms
    text = json.dumps(rows)
    # Usernames are "ann-1-person" etc. (pseudonyms look like "ann_<hex>").
    for name in ("-person", "example.org", "res_a", "admin"):
        assert name not in text
    pairwise = next(r for r in rows if r["task_type"] == "pairwise" and r["payload"]["chosen"])
    assert len(pairwise["responses"]) == 2
    assert pairwise["guideline_version"] == 1
    assert pairwise["profile_version"] == 1
    assert pairwise["time_spent_ms"] == 1234
    assert pairwise["messages"][0]["role"] == "user"


def test_raw_profile_fields_follow_privacy_and_k(world):
    rows = _jsonl(_export(world, shape="raw"))
    # alpha: k=2, default fields. Both annotators share age band 25-34 (kept) but live
    # in different countries (each a cell of one: suppressed).
    assert {r["profile_age_band"] for r in rows} == {"25-34"}
    assert {r["profile_residence_country"] for r in rows} == {None}
    assert "profile_self_description" not in rows[0]


def test_privacy_setting_limits_fields(world):
    world.alpha.config = {"privacy": {"profile_fields": ["residence_country"], "k_anonymity": 1}}
    world.alpha.save()
    rows = _jsonl(_export(world, shape="raw"))
    assert {r["profile_residence_country"] for r in rows} == {"GB", "FR"}
    assert not any(k.startswith("profile_age") for k in rows[0])


def test_trl_preference_pairs_from_each_label_type_and_no_ties(world):
    rows = _jsonl(_export(world, shape="trl-preference"))
    by_source: dict[str, int] = {}
    for r in rows:
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
        assert isinstance(r["prompt"], str) and r["chosen"] != r["rejected"]
        assert r["annotator_id"].startswith("ann_")
    # per annotator: pairwise 1 (tie dropped), ranking [[r2],[r1,r3]] -> 2 pairs,
    # rating 6/2/6 -> 2 pairs (the 6-6 tie dropped), edit 1.
    assert by_source == {"pairwise": 2, "ranking": 4, "rating": 4, "edit": 2}
    rating = [r for r in rows if r["source"] == "rating"]
    assert all(r["margin"] == 4.0 for r in rating)
    edit = next(r for r in rows if r["source"] == "edit")
    assert edit["chosen"].endswith("Tides repeat twice a day.")


def test_trl_preference_options(world):
    rows = _jsonl(_export(world, shape="trl-preference", min_margin=5, sources="rating"))
    assert rows == []
    rows = _jsonl(_export(world, shape="trl-preference", sources="ranking", ranking_pairs="best"))
    assert len(rows) == 4
    rows = _jsonl(_export(world, shape="trl-preference", conversational=1, sources="pairwise"))
    assert rows[0]["prompt"][0]["role"] == "user"
    assert rows[0]["chosen"][0]["role"] == "assistant"


def test_trl_unpaired_threshold(world):
    rows = _jsonl(_export(world, shape="trl-unpaired"))
    # ratings 6, 2, 6 on a 1-7 scale: midpoint 4 -> True, False, True (x2 annotators).
    assert sorted(r["label"] for r in rows) == [False, False, True, True, True, True]
    rows = _jsonl(_export(world, shape="trl-unpaired", threshold=6))
    assert sorted(r["label"] for r in rows) == [False, False]  # 6 == threshold dropped


def test_ranking_shape_keeps_full_order(world):
    rows = _jsonl(_export(world, shape="ranking"))
    assert len(rows) == 2
    assert [r["rank"] for r in rows[0]["responses"]] == [0, 1, 1]
    assert len(rows[0]["ranking"]) == 2


def test_csv_encodes_nested_values_as_json(world):
    response = _export(world, shape="raw", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    reader = list(csv.DictReader(io.StringIO(_body(response).decode())))
    assert len(reader) == 10
    assert isinstance(json.loads(reader[0]["payload"]), dict)


PARQUET_CASES = [
    ("raw", 0),
    ("trl-preference", 0),
    ("trl-preference", 1),
    ("trl-unpaired", 0),
    ("trl-unpaired", 1),
    ("ranking", 0),
    ("ranking", 1),
]


def test_parquet_reads_back_with_documented_schema(world):
    fields = (
        "age_band",
        "gender",
        "residence_country",
        "first_language",
        "english_proficiency",
        "education",
        "ai_familiarity",
        "ai_frequency",
    )
    for shape, conversational in PARQUET_CASES:
        response = _export(world, shape=shape, format="parquet", conversational=conversational)
        assert response.status_code == 200
        table = pq.read_table(pa.BufferReader(_body(response)))
        expected = arrow_schema(
            columns_for(
                shape,
                conversational=bool(conversational),
                profile_fields=fields if shape == "raw" else (),
            )
        )
        assert table.schema.remove_metadata().equals(expected), (shape, conversational)
        assert table.num_rows > 0
    # The documented schema in one example: preference columns as plain strings.
    table = pq.read_table(
        pa.BufferReader(_body(_export(world, shape="trl-preference", format="parquet")))
    )
    assert table.schema.field("chosen").type == pa.string()
    assert table.schema.field("margin").type == pa.float64()
    assert table.num_rows == 12


def _conversations(world: Any) -> None:
    """Imported items live in conversations (items_add makes one per item); do the same."""
    from annotate.models import Conversation, Prompt

    for prompt in Prompt.objects.filter(campaign=world.alpha):
        prompt.conversation = Conversation.objects.create(campaign=world.alpha, source="test")
        prompt.save(update_fields=["conversation"])


def test_prism_zip_has_three_files(world):
    _conversations(world)
    response = _export(world, shape="prism", format="jsonl")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(archive.namelist()) == ["conversations.jsonl", "survey.jsonl", "utterances.jsonl"]
    survey = [json.loads(x) for x in archive.read("survey.jsonl").decode().splitlines()]
    assert {s["annotator_id"] for s in survey} == {world.ann_1.pseudonym, world.ann_2.pseudonym}
    utterances = [json.loads(x) for x in archive.read("utterances.jsonl").decode().splitlines()]
    # pairwise 2 (tie has no winner: none), ranking 3, rating 3 per annotator; edit none.
    assert len(utterances) == 2 * (2 + 3 + 3)
    conversations = [
        json.loads(x) for x in archive.read("conversations.jsonl").decode().splitlines()
    ]
    assert sum(c["n_utterances"] for c in conversations) == len(utterances)
    assert all(c["opening_prompt"] for c in conversations)


def test_prism_parquet_members_follow_schema(world):
    _conversations(world)
    response = _export(world, shape="prism", format="parquet")
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    cols = prism_columns(("age_band",))
    table = pq.read_table(pa.BufferReader(archive.read("utterances.parquet")))
    assert table.schema.remove_metadata().equals(arrow_schema(cols["utterances"]))


def test_export_is_recorded_with_count_checksum_and_filters(world):
    import hashlib

    response = _export(world, shape="raw", task_type="rating", created_after="2000-01-01")
    body = _body(response)
    export = Export.objects.get(pk=int(response["X-Chorus-Export-Id"]))
    assert export.status == ExportStatus.DONE
    assert export.row_count == 2
    assert export.sha256 == hashlib.sha256(body).hexdigest()
    assert export.filters["task_type"] == ["rating"]
    assert export.filters["created_after"].startswith("2000-01-01T00:00:00")
    assert export.max_annotation_id is not None


def test_profile_filter_only_on_published_fields(world):
    rows = _jsonl(_export(world, shape="raw", country="GB"))
    assert {r["annotator_id"] for r in rows} == {world.ann_1.pseudonym}
    response = _export(world, shape="raw", religion="none")
    assert response.status_code == 400
    assert "privacy" in response.json()["religion"]


BAD_PARAMS = [
    {"shape": "nope"},
    {"format": "xlsx"},
    {"task_type": "juggling"},
    {"created_after": "yesterday"},
    {"guideline_version": "v2"},
    {"min_margin": "-1"},
    {"min_margin": "nan"},
    {"conversational": "maybe"},
    {"ranking_pairs": "some"},
    {"attribute": "vibes"},
    {"sources": "critique"},
    {"colour": "blue"},
]


def test_bad_export_parameters_are_400_with_a_reason(world):
    for params in BAD_PARAMS:
        response = _export(world, **params)
        assert response.status_code == 400, params
        assert response["Content-Type"] == "application/json"
        assert response.json(), params
    assert not Export.objects.exists()  # nothing recorded for a refused request


def test_large_export_becomes_a_job(world, settings, django_capture_on_commit_callbacks):
    settings.CHORUS_EXPORT_SYNC_MAX_ROWS = 3
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _export(world, shape="trl-preference")
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202
    export_id = response.json()["id"]
    detail = world.client("res_a").get(f"/api/v1/exports/{export_id}/").json()
    assert detail["status"] == "done" and detail["row_count"] == 12
    assert detail["download_url"].endswith(f"/api/v1/exports/{export_id}/download")
    download = world.client("res_a").get(f"/api/v1/exports/{export_id}/download")
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(lines) == 12
    # Another researcher cannot see or fetch it.
    assert world.client("res_b").get(f"/api/v1/exports/{export_id}/").status_code == 404
    assert world.client("res_b").get(f"/api/v1/exports/{export_id}/download").status_code == 404


def test_recorded_export_reproduces_the_same_bytes(world, django_capture_on_commit_callbacks):
    from annotate.models import TaskType
    from config.celery import app
    from tests.factories import ItemFactory

    from .conftest import make_annotation, response_ids

    first = _export(world, shape="trl-preference", format="parquet")
    body = _body(first)
    original = Export.objects.get(pk=int(first["X-Chorus-Export-Id"]))
    # A label arriving later is not part of the recorded dataset.
    item = ItemFactory(campaign=world.alpha, task_type=TaskType.PAIRWISE)
    a, b = response_ids(item)
    make_annotation(
        item,
        world.ann_1,
        {
            "choice": "A",
            "strength": -1,
            "reason": "",
            "response_ids": [a, b],
            "chosen": a,
            "rejected": b,
        },
    )
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = world.client("res_a").post(f"/api/v1/exports/{original.pk}/reproduce")
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202
    again = Export.objects.get(pk=response.json()["id"])
    assert again.status == ExportStatus.DONE
    assert again.row_count == original.row_count == 12
    assert again.sha256 == original.sha256
    download = world.client("res_a").get(f"/api/v1/exports/{again.pk}/download")
    assert b"".join(download.streaming_content) == body
    # A fresh export does include the new label.
    assert len(_jsonl(_export(world, shape="trl-preference"))) == 13
    assert world.client("res_b").post(f"/api/v1/exports/{original.pk}/reproduce").status_code == 404
