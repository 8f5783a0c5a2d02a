"""Judge answer parsing: lenient about form, strict about content, and total."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.analytics.judge_parse import STATUSES, Parsed, parse_judgment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", Parsed("ok", "A")),
        ("b.", Parsed("ok", "B")),
        ("(B)", Parsed("ok", "B")),
        ("Tie", Parsed("ok", "tie")),
        ("[[A]]", Parsed("ok", "A")),
        ("[[C]]", Parsed("ok", "tie")),  # MT-Bench's tie
        ("Answer: B", Parsed("ok", "B")),
        ("**Final answer: A**", Parsed("ok", "A")),
        ("The better response is B", Parsed("ok", "B")),
        ("Assistant A is better", Parsed("ok", "A")),
        ("A is better than B", Parsed("ok", "A")),
        # Reasoning first, decision last: the last labelled verdict decides.
        ("Answer: A looks good at first. On reflection, verdict: B", Parsed("ok", "B")),
        ("Response A is fine but Response B is better. Verdict: B", Parsed("ok", "B")),
        ("Both are equally good.", Parsed("ok", "tie")),
        ("It\u2019s a tie", Parsed("ok", "tie")),
        ("I prefer (A)", Parsed("ok", "A")),
        # "A" as an article is not an answer.
        ("A good response would explain more", Parsed("unparsable")),
        ("Response A is fine but Response B is better", Parsed("ambiguous")),
        ("Response A and Response B", Parsed("ambiguous")),
        ("[[A]] [[B]]", Parsed("ambiguous")),
        ("", Parsed("empty")),
        ("  ** `` ", Parsed("empty")),
        ("I cannot decide without more context.", Parsed("unparsable")),
    ],
)
def test_pairwise_answers(text, expected):
    assert parse_judgment(text) == expected


def test_tie_where_ties_are_not_allowed_is_out_of_range():
    assert parse_judgment("tie", allow_tie=False) == Parsed("out_of_range", "tie")
    assert parse_judgment("B", allow_tie=False) == Parsed("ok", "B")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Parsed("ok", 5)),
        ("Rating: 6", Parsed("ok", 6)),
        ("[[3]]", Parsed("ok", 3)),
        ("6/7", Parsed("ok", 6)),
        ("I'd give it 5 out of 7", Parsed("ok", 5)),
        ("Rating: 2 (out of 7)", Parsed("ok", 2)),
        ("The answer is correct. Score: 5", Parsed("ok", 5)),
        ("Score: 5. The answer is clear", Parsed("ok", 5)),
        ("5.0", Parsed("ok", 5)),
        ("Score: 9", Parsed("out_of_range", 9)),
        ("-1", Parsed("out_of_range", -1)),
        ("4.5", Parsed("unparsable")),
        ("3 or 4", Parsed("ambiguous")),
        ("none", Parsed("unparsable")),
        ("", Parsed("empty")),
    ],
)
def test_rating_answers(text, expected):
    assert parse_judgment(text, kind="rating", low=1, high=7) == expected


def test_non_text_input_never_raises():
    assert parse_judgment(None) == Parsed("unparsable")
    assert parse_judgment(3) == Parsed("unparsable")
    assert parse_judgment(b"B") == Parsed("ok", "B")
    assert parse_judgment(b"\xff\xfe").status in STATUSES
    assert parse_judgment("A" * 1_000_000).status in STATUSES


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=300), st.binary(max_size=100), st.none(), st.integers()),
    kind=st.sampled_from(["pairwise", "rating"]),
)
def test_parse_is_total(text, kind):
    out = parse_judgment(text, kind=kind, low=1, high=7)
    assert out.status in STATUSES
    if out.ok:
        assert out.answer in ("A", "B", "tie") if kind == "pairwise" else 1 <= out.answer <= 7
