"""The pure import parsers: no database."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from annotate.importers import BadRow, ParsedRow, RowError, parser_for, read_rows
from annotate.importers.hh_rlhf import parse_record as parse_hh
from annotate.importers.hh_rlhf import split_transcript
from annotate.importers.jsonl import parse_record as parse_jsonl

CHOSEN = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: What is 2+2?\n\nAssistant: 4."
REJECTED = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: What is 2+2?\n\nAssistant: 5."


def test_split_transcript_takes_turns_up_to_last_human():
    messages, reply = split_transcript(CHOSEN)
    assert messages == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert reply == "4."


def test_split_transcript_keeps_a_reply_with_an_inner_marker_verbatim():
    text = "\n\nHuman: Q\n\nAssistant: part one\n\nAssistant: part two"
    messages, reply = split_transcript(text)
    assert messages == [{"role": "user", "content": "Q"}]
    assert reply == "part one\n\nAssistant: part two"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Hello\n\nHuman: Q\n\nAssistant: A", "does not start"),
        ("\n\nAssistant: A", "no Human turn"),
        ("\n\nHuman: Q\n\nAssistant: A\n\nHuman: again", "ends with a Human turn"),
        ("\n\nHuman:   \n\nAssistant: A", r"turn 1 \(Human\) is empty"),
    ],
)
def test_split_transcript_rejects_malformed(text, reason):
    with pytest.raises(RowError, match=reason):
        split_transcript(text)


def test_hh_row_keeps_reference_preference_and_is_deterministic():
    row = parse_hh({"chosen": CHOSEN, "rejected": REJECTED}, 7, file_name="f.jsonl")
    again = parse_hh({"chosen": CHOSEN, "rejected": REJECTED}, 7, file_name="f.jsonl")
    assert row == again
    assert row.task_type == "pairwise"
    position = row.metadata["reference_preference"]["chosen_position"]
    assert row.responses[position].text == "4."
    assert row.responses[position].source == "hh-rlhf:chosen"
    assert row.responses[1 - position].text == "5."
    assert row.responses[1 - position].metadata == {"reference_label": "rejected"}
    assert row.metadata["import"] == {"format": "hh-rlhf", "file": "f.jsonl", "line": 7}


def test_hh_chosen_position_varies_with_content():
    positions = set()
    for n in range(20):
        chosen = CHOSEN.replace("2+2", f"{n}+{n}")
        rejected = REJECTED.replace("2+2", f"{n}+{n}")
        row = parse_hh({"chosen": chosen, "rejected": rejected}, 1)
        positions.add(row.metadata["reference_preference"]["chosen_position"])
    assert positions == {0, 1}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"chosen": CHOSEN}, "missing field 'rejected'"),
        ({"chosen": CHOSEN, "rejected": CHOSEN}, "same reply"),
        (
            {"chosen": CHOSEN, "rejected": REJECTED.replace("Hi there", "Hey")},
            "differ before the final reply \\(turn 1\\)",
        ),
        ({"chosen": "no markers", "rejected": REJECTED}, "'chosen' transcript does not start"),
    ],
)
def test_hh_bad_records(record, reason):
    with pytest.raises(RowError, match=reason):
        parse_hh(record, 1)


def test_jsonl_defaults_and_response_objects():
    row = parse_jsonl(
        {
            "id": 17,
            "prompt": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour."},
            ],
            "responses": ["Blue.", {"text": "Red.", "model": "m-7b", "metadata": {"k": 1}}],
            "metadata": {"topic": "colours"},
        },
        3,
        file_name="x.jsonl",
    )
    assert row.task_type == "pairwise"
    assert row.external_id == "17"
    assert row.responses[0].source == "jsonl"
    assert row.responses[1].source == "m-7b"
    assert row.responses[1].metadata == {"k": 1, "model": "m-7b"}
    assert row.metadata == {
        "topic": "colours",
        "import": {"format": "jsonl", "file": "x.jsonl", "line": 3},
    }
    single = parse_jsonl({"prompt": "Q?", "responses": ["A", "B", "C"]}, 1)
    assert single.task_type == "rating"
    assert single.external_id.startswith("jsonl:")
    forced = parse_jsonl({"prompt": "Q?", "responses": ["A", "B", "C"]}, 1, task_type="ranking")
    assert forced.task_type == "ranking"
    own = parse_jsonl(
        {"prompt": "Q?", "responses": ["A"], "task_type": "edit"}, 1, task_type="rating"
    )
    assert own.task_type == "edit"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"responses": ["a"]}, "missing field 'prompt'"),
        ({"prompt": " ", "responses": ["a"]}, "'prompt' is empty"),
        ({"prompt": "q", "responses": []}, "non-empty list"),
        ({"prompt": "q", "responses": ["a", "  "]}, "response 2 is empty"),
        ({"prompt": "q", "responses": [{"source": "x"}]}, "response 1 has no 'text'"),
        ({"prompt": [{"role": "bot", "content": "x"}], "responses": ["a"]}, "role must be"),
        ({"prompt": [{"role": "assistant", "content": "x"}], "responses": ["a"]}, "last message"),
        ({"prompt": "q", "responses": ["a"], "task_type": "conversation"}, "task_type must"),
        ({"prompt": "q", "responses": ["a"], "metadata": [1]}, "'metadata' must be a JSON object"),
        ({"prompt": "q", "responses": ["a"], "id": {"x": 1}}, "'id' must be"),
        ({"prompt": "q", "responses": [{"text": "a", "source": "s" * 81}]}, "longer than 80"),
    ],
)
def test_jsonl_bad_records(record, reason):
    with pytest.raises(RowError, match=reason):
        parse_jsonl(record, 1)


def test_read_rows_detects_gzip_by_magic_and_numbers_lines(tmp_path: Path):
    lines = [
        json.dumps({"prompt": "q1", "responses": ["a", "b"]}),
        "",
        "{not json",
        json.dumps({"prompt": "q1", "responses": ["a", "b"]}),
        json.dumps({"prompt": "q2", "responses": ["c"]}),
    ]
    data = ("\n".join(lines) + "\n").encode()
    plain, packed = tmp_path / "plain.jsonl", tmp_path / "packed.jsonl"  # no .gz on purpose
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    results = [list(read_rows(p, parser_for("jsonl"))) for p in (plain, packed)]
    assert results[0] == results[1]
    rows = results[0]
    assert [r.line for r in rows] == [1, 3, 4, 5]
    assert isinstance(rows[0], ParsedRow)
    assert isinstance(rows[1], BadRow) and "invalid JSON" in rows[1].error
    assert isinstance(rows[2], BadRow) and "duplicate of line 1" in rows[2].error
    assert isinstance(rows[3], ParsedRow)
    limited = list(read_rows(plain, parser_for("jsonl"), limit=2))
    assert [r.line for r in limited] == [1, 3]


def test_read_rows_reports_bad_utf8(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"prompt": "caf\xe9", "responses": ["a"]}\n')
    (row,) = read_rows(path, parser_for("jsonl"))
    assert isinstance(row, BadRow) and "UTF-8" in row.error


def test_read_rows_accepts_a_byte_order_mark_and_crlf(tmp_path: Path):
    path = tmp_path / "bom.jsonl"
    line = json.dumps({"prompt": "q", "responses": ["a", "b"]})
    path.write_bytes(("\ufeff" + line + "\r\n" + line.replace("q", "r") + "\r\n").encode())
    rows = list(read_rows(path, parser_for("jsonl")))
    assert all(isinstance(r, ParsedRow) for r in rows) and len(rows) == 2
