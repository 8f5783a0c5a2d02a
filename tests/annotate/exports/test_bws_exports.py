"""Best-worst labels in the export shapes (pure, no database)."""

from __future__ import annotations

from annotate.exports import prism, shapes
from annotate.exports.schemas import columns_for
from tests.annotate.exports.test_shapes_and_privacy import _row

FOUR = ((1, "one"), (2, "two"), (3, "three"), (4, "four"))
PAYLOAD = {"best": 3, "worst": 1, "response_ids": [1, 2, 3, 4]}


def test_bws_gives_the_2k_minus_3_implied_pairs():
    row = _row("bws", PAYLOAD, responses=FOUR)
    pairs = list(shapes.preference_rows(row, shapes.ShapeOptions(), overall="h"))
    assert {(p["chosen_response_id"], p["rejected_response_id"]) for p in pairs} == {
        (3, 2),
        (3, 4),
        (3, 1),
        (2, 1),
        (4, 1),
    }
    assert {p["source"] for p in pairs} == {"bws"}
    assert (
        next(
            p["margin"]
            for p in pairs
            if p["chosen_response_id"] == 3 and p["rejected_response_id"] == 1
        )
        == 2
    )
    best_only = shapes.ShapeOptions(ranking_pairs="best")
    assert len(list(shapes.preference_rows(row, best_only, overall="h"))) == 3
    not_bws = shapes.ShapeOptions(sources=("pairwise",))
    assert not list(shapes.preference_rows(row, not_bws, overall="h"))


def test_bws_ranking_row_is_the_partial_order():
    row = _row("bws", PAYLOAD, responses=FOUR)
    (out,) = shapes.ranking_rows(row, shapes.ShapeOptions())
    assert out["ranking"] == [[3], [2, 4], [1]]
    assert [r["rank"] for r in out["responses"]] == [0, 1, 1, 2]
    assert set(out) == {c.name for c in columns_for("ranking")}


def test_bws_in_a_conversation_marks_chosen_and_rejected():
    row = {**_row("bws", PAYLOAD, responses=FOUR), "conversation_id": 5, "turn_depth": 2}
    summary = prism.ConversationSummary()
    rows = list(prism.utterance_rows([row], summary, overall="h"))
    assert {r["response_id"]: r["chosen"] for r in rows} == {3: True, 1: False}
