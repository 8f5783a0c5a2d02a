"""Pure export functions: shapes, k-anonymity, writers (no database)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate.exports import shapes, writers
from annotate.exports.privacy import (
    PrivacyConfigError,
    privacy_settings,
    publishable_values,
    suppress,
)
from annotate.exports.schemas import columns_for


def _row(task_type, payload, responses=((1, "one"), (2, "two"), (3, "three"))):
    return {
        "annotation_id": 7,
        "campaign": "c",
        "item_id": 3,
        "task_type": task_type,
        "annotator_id": "ann_x",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "time_spent_ms": 10,
        "guideline_version": 2,
        "profile_version": 1,
        "payload": payload,
        "flags": {},
        "presented_order": [r for r, _ in responses],
        "prompt": "Why?",
        "messages": [{"role": "user", "content": "Why?"}],
        "conversation_id": None,
        "language": "fr",
        "responses": [
            {"id": rid, "position": n, "text": text, "source": "s", "model": f"endpoint:{rid}"}
            for n, (rid, text) in enumerate(responses)
        ],
        "profile": {},
    }


OPTS = shapes.ShapeOptions()


def test_ranking_pairs_modes():
    row = _row("ranking", {"ranking": [[1], [2], [3]]})
    all_pairs = list(shapes.preference_rows(row, OPTS, overall="helpfulness"))
    assert [(p["chosen"], p["rejected"], p["margin"]) for p in all_pairs] == [
        ("one", "two", 1.0),
        ("one", "three", 2.0),
        ("two", "three", 1.0),
    ]
    adjacent = shapes.ShapeOptions(ranking_pairs="adjacent")
    assert len(list(shapes.preference_rows(row, adjacent, overall="helpfulness"))) == 2
    best = shapes.ShapeOptions(ranking_pairs="best")
    assert {p["rejected"] for p in shapes.preference_rows(row, best, overall="x")} == {
        "two",
        "three",
    }


def test_ranking_ties_make_no_pair():
    row = _row("ranking", {"ranking": [[1, 2], [3]]})
    pairs = list(shapes.preference_rows(row, OPTS, overall="h"))
    assert {(p["chosen"], p["rejected"]) for p in pairs} == {("one", "three"), ("two", "three")}


def test_rating_pairs_respect_min_margin_and_attribute():
    row = _row(
        "rating", {"ratings": {"1": {"h": 7, "s": 1}, "2": {"h": 5, "s": 4}, "3": {"h": 6, "s": 4}}}
    )
    pairs = list(shapes.preference_rows(row, OPTS, overall="h"))
    assert {(p["chosen"], p["rejected"], p["margin"]) for p in pairs} == {
        ("one", "two", 2.0),
        ("one", "three", 1.0),
        ("three", "two", 1.0),
    }
    strict = shapes.ShapeOptions(min_margin=2)
    assert len(list(shapes.preference_rows(row, strict, overall="h"))) == 1
    on_s = shapes.ShapeOptions(attribute="s")
    assert {
        (p["chosen"], p["rejected"]) for p in shapes.preference_rows(row, on_s, overall="h")
    } == {("two", "one"), ("three", "one")}


def test_pairwise_tie_and_edit_without_change_are_dropped():
    tie = _row(
        "pairwise", {"choice": "tie", "chosen": None, "rejected": None}, ((1, "a"), (2, "b"))
    )
    assert list(shapes.preference_rows(tie, OPTS, overall="h")) == []
    same = _row(
        "edit", {"response_id": 1, "edited_text": "one ", "original_text": "one"}, ((1, "one"),)
    )
    assert list(shapes.preference_rows(same, OPTS, overall="h")) == []


def test_multi_turn_prompt_keeps_context_in_plain_text():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Why?"},
    ]
    assert shapes.prompt_text(messages, "Why?") == "user: Hi\n\nassistant: Hello\n\nuser: Why?"


def test_unpaired_threshold_default_is_scale_middle():
    row = _row("rating", {"ratings": {"1": {"h": 4}, "2": {"h": 5}, "3": {"h": 3}}})
    out = {
        r["completion"]: r["label"]
        for r in shapes.unpaired_rows(row, OPTS, overall="h", scale=(1, 7))
    }
    assert out == {"two": True, "three": False}


def test_privacy_settings_validation():
    assert privacy_settings({}).k == 5
    assert "age_band" in privacy_settings({}).profile_fields
    with pytest.raises(PrivacyConfigError):
        privacy_settings({"privacy": {"profile_fields": ["ssn"]}})
    with pytest.raises(PrivacyConfigError):
        privacy_settings({"privacy": {"k_anonymity": 0}})
    with pytest.raises(PrivacyConfigError):
        privacy_settings({"privacy": {"k_anonymity": True}})


def test_k_anonymity_suppresses_rare_cells_and_rare_list_options():
    settings = privacy_settings(
        {
            "privacy": {
                "profile_fields": ["residence_country", "use_cases", "pref_safety"],
                "k_anonymity": 2,
            }
        }
    )
    profiles = [
        ("a", {"residence_country": "GB", "use_cases": ["coding", "fun"]}),
        ("b", {"residence_country": "GB", "use_cases": ["coding"]}),
        ("c", {"residence_country": "IS", "use_cases": ["coding"]}),
        ("a", {"residence_country": "GB", "use_cases": ["coding"]}),  # same person, v2
    ]
    allowed = publishable_values(profiles, settings)
    assert allowed == {"residence_country": {"GB"}, "use_cases": {"coding"}}
    assert suppress(
        {"residence_country": "IS", "use_cases": ["coding", "fun"], "pref_safety": 80},
        settings,
        allowed,
    ) == {"residence_country": None, "use_cases": ["coding"], "pref_safety": 80}
    assert suppress(None, settings, allowed) == {
        "residence_country": None,
        "use_cases": None,
        "pref_safety": None,
    }


def test_parquet_writer_streams_in_batches_and_reads_back():
    cols = columns_for("trl-preference")
    rows = [
        {"prompt": f"p{i}", "chosen": "c", "rejected": "r", "margin": 1.0, "source": "x"}
        for i in range(25)
    ]
    chunks = list(writers.write_parquet(iter(rows), cols, batch_rows=10))
    assert len(chunks) >= 3  # one per batch plus the footer: nothing buffered whole
    table = pq.read_table(pa.BufferReader(b"".join(chunks)))
    assert table.num_rows == 25 and table.column("prompt")[24].as_py() == "p24"


def test_jsonl_and_csv_writers():
    cols = columns_for("raw")
    row = _row("pairwise", {"choice": "A"})
    line = b"".join(writers.write_jsonl([row], cols)).decode()
    assert json.loads(line)["payload"] == {"choice": "A"}
    text = b"".join(writers.write_csv([row], cols)).decode()
    header, body = text.splitlines()[:2]
    assert header.startswith("annotation_id,campaign,item_id")
    assert '"{""choice"":""A""}"' in body
    tally = writers.Tally()
    data = b"".join(tally.bytes(writers.write_jsonl(tally.count(iter([row, row])), cols)))
    assert tally.rows == 2 and tally.size == len(data)
    assert io.BytesIO(data).read().count(b"\n") == 2
