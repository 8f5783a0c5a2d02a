"""Payload validation for every task type: good answers normalise, bad ones explain."""

import pytest

from annotate.payloads import PayloadContext, PayloadError, validate_payload

PAIR = PayloadContext(presented_order=[11, 7])


def test_pairwise_resolves_positions_to_response_ids():
    out = validate_payload("pairwise", {"choice": "b", "strength": 2, "reason": "clearer"}, PAIR)
    assert out["chosen"] == 7 and out["rejected"] == 11
    assert out["response_ids"] == [11, 7]
    assert out["choice"] == "B" and out["strength"] == 2


def test_pairwise_tie_has_no_winner():
    out = validate_payload("pairwise", {"choice": "tie"}, PAIR)
    assert out["chosen"] is None and out["rejected"] is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "choice"),
        ({"choice": "C"}, "choice"),
        ({"choice": "A", "strength": 2}, "strength"),  # positive favours B
        ({"choice": "tie", "strength": 1}, "strength"),
        ({"choice": "A", "strength": -4}, "strength"),
        ({"choice": "A", "strength": True}, "strength"),
        ({"choice": "A", "reason": 5}, "reason"),
    ],
)
def test_pairwise_rejects_bad_answers(raw, field):
    with pytest.raises(PayloadError) as err:
        validate_payload("pairwise", raw, PAIR)
    assert field in err.value.errors


def test_ranking_accepts_ties_and_flat_entries():
    ctx = PayloadContext(presented_order=[1, 2, 3])
    out = validate_payload("ranking", {"ranking": [[2, 3], 1]}, ctx)
    assert out == {"ranking": [[2, 3], [1]]}


@pytest.mark.parametrize("ranking", [[1, 2], [1, 2, 2, 3], [1, 2, 9], [], [[], 1, 2, 3], "1,2,3"])
def test_ranking_must_be_a_permutation(ranking):
    with pytest.raises(PayloadError):
        validate_payload("ranking", {"ranking": ranking}, PayloadContext(presented_order=[1, 2, 3]))


def test_rating_requires_every_response_and_attribute_in_range():
    ctx = PayloadContext(
        presented_order=[5, 6], rating_range=(1, 7), rating_attributes=("helpfulness", "safety")
    )
    good = {"ratings": {"5": {"helpfulness": 7, "safety": "3"}, 6: {"helpfulness": 1, "safety": 4}}}
    assert validate_payload("rating", good, ctx)["ratings"]["5"] == {"helpfulness": 7, "safety": 3}
    for bad in (
        {"ratings": {"5": {"helpfulness": 7, "safety": 3}}},
        {"ratings": {"5": {"helpfulness": 8, "safety": 3}, "6": {"helpfulness": 1, "safety": 1}}},
        {"ratings": {"5": {"helpfulness": 2}, "6": {"helpfulness": 1, "safety": 1}}},
        {
            "ratings": {
                "5": {"helpfulness": 2, "safety": 1, "tone": 3},
                "6": {"helpfulness": 1, "safety": 1},
            }
        },
    ):
        with pytest.raises(PayloadError):
            validate_payload("rating", bad, ctx)


def test_edit_stores_distance_and_diff():
    ctx = PayloadContext(presented_order=[3], response_texts={3: "The cat sat."})
    out = validate_payload("edit", {"edited_text": "The dog sat."}, ctx)
    assert out["edit_distance"] == 3  # c->d, a->o, t->g
    assert ["delete", "cat"] in out["diff"] and ["insert", "dog"] in out["diff"]
    assert out["original_text"] == "The cat sat."
    with pytest.raises(PayloadError):
        validate_payload("edit", {"edited_text": "   "}, ctx)


def test_critique_spans_inside_text_and_known_category():
    ctx = PayloadContext(
        presented_order=[3],
        response_texts={3: "Paris is in Spain."},
        critique_categories=("factual error", "style"),
    )
    raw = {
        "critique": "Wrong country.",
        "spans": [{"start": 12, "end": 17, "category": "factual error"}],
    }
    out = validate_payload("critique", raw, ctx)
    assert out["spans"][0]["text"] == "Spain" and out["spans"][0]["response_id"] == 3
    for bad_span in (
        {"start": 12, "end": 99, "category": "style"},
        {"start": 1, "end": 2, "category": "x"},
    ):
        with pytest.raises(PayloadError):
            validate_payload("critique", {"critique": "c", "spans": [bad_span]}, ctx)
    with pytest.raises(PayloadError) as err:
        validate_payload("critique", {"critique": ""}, ctx)
    assert "critique" in err.value.errors


def test_non_object_and_unknown_type_are_rejected():
    with pytest.raises(PayloadError):
        validate_payload("pairwise", ["A"], PAIR)
    with pytest.raises(PayloadError):
        validate_payload("poetry", {}, PAIR)
    with pytest.raises(PayloadError):
        validate_payload("pairwise", {"choice": "A", "reason": "x" * 300_000}, PAIR)
