"""The Django-free data builder on every label type, the split and the snapshot hash."""

from __future__ import annotations

import pytest

from modelserve.training.data import (
    DataError,
    LabelRecord,
    build_dataset,
    parse_hh_transcript,
)


def rec(
    aid: int,
    task: str,
    payload: dict,
    *,
    annotator: str = "ann_1",
    prompt: str = "p1",
    responses: dict | None = None,
    **kw,
) -> LabelRecord:
    return LabelRecord(
        annotation_id=aid,
        task_type=task,
        annotator=annotator,
        prompt_key=prompt,
        prompt=({"role": "user", "content": f"question {prompt}"},),
        responses=responses or {1: "one", 2: "two", 3: "three"},
        payload=payload,
        **kw,
    )


def pairs_of(ds):
    return [(p.chosen, p.rejected, p.margin, p.source) for p in ds.train_pairs + ds.val_pairs]


def test_pairwise_strength_is_margin_and_ties_dropped():
    ds = build_dataset(
        [
            rec(1, "pairwise", {"choice": "B", "strength": 3, "chosen": 2, "rejected": 1}),
            rec(2, "pairwise", {"choice": "A", "strength": -1, "chosen": 1, "rejected": 2}),
            rec(3, "pairwise", {"choice": "tie", "strength": 0, "chosen": None, "rejected": None}),
            rec(4, "pairwise", {"choice": "A", "chosen": 1, "rejected": 3}),
        ],
        val_fraction=0.0,
    )
    assert pairs_of(ds) == [
        ("two", "one", 1.0, "pairwise"),
        ("one", "two", pytest.approx(1 / 3, abs=1e-6), "pairwise"),
        ("one", "three", 0.0, "pairwise"),
    ]
    assert ds.n_dropped_ties == 1


def test_ranking_gives_all_implied_pairs_and_the_list():
    ds = build_dataset([rec(1, "ranking", {"ranking": [[3], [1, 2]]})], val_fraction=0.0)
    got = sorted((c, r, m) for c, r, m, _ in pairs_of(ds))
    assert got == [("three", "one", 1.0), ("three", "two", 1.0)]  # tied 1,2 give no pair
    assert ds.n_dropped_ties == 1
    assert [lst.groups for lst in ds.train_lists] == [(("three",), ("one", "two"))]
    ds3 = build_dataset([rec(1, "ranking", {"ranking": [[2], [3], [1]]})], val_fraction=0.0)
    assert sorted((c, r, m) for c, r, m, _ in pairs_of(ds3)) == [
        ("three", "one", 0.5),
        ("two", "one", 1.0),
        ("two", "three", 0.5),
    ]


def test_ratings_make_pairs_only_within_one_annotator():
    common = {"overall_attribute": "helpfulness", "rating_range": (1.0, 7.0)}
    ds = build_dataset(
        [
            rec(
                1,
                "rating",
                {"ratings": {"1": {"helpfulness": 6}, "2": {"helpfulness": 3}}},
                **common,
            ),
            rec(2, "rating", {"ratings": {"3": {"helpfulness": 6}}}, **common),  # same annotator
            # Another annotator rates 3 low: no pair against ann_1's ratings.
            rec(3, "rating", {"ratings": {"3": {"helpfulness": 1}}}, annotator="ann_2", **common),
            # Other attributes are ignored; only the overall one orders responses.
            rec(
                4,
                "rating",
                {"ratings": {"1": {"safety": 1}, "2": {"safety": 7}}},
                annotator="ann_3",
                **common,
            ),
        ],
        val_fraction=0.0,
    )
    assert sorted((c, r, m) for c, r, m, _ in pairs_of(ds)) == [
        ("one", "two", 0.5),
        ("three", "two", 0.5),
    ]
    assert ds.n_dropped_ties == 1  # ann_1 rated responses 1 and 3 equally


def test_edit_prefers_the_edited_text():
    ds = build_dataset(
        [
            rec(1, "edit", {"response_id": 2, "edited_text": "two, fixed"}),
            rec(2, "edit", {"response_id": 1, "edited_text": " one "}),  # unchanged: a tie
        ],
        val_fraction=0.0,
    )
    assert pairs_of(ds) == [("two, fixed", "two", 1.0, "edit")]
    assert ds.n_dropped_ties == 1


def test_critiques_carry_no_pair_and_bad_ids_are_errors():
    ds = build_dataset([rec(1, "critique", {"critique": "too long"})])
    assert ds.n_examples == 0
    with pytest.raises(DataError):
        build_dataset([rec(1, "pairwise", {"choice": "A", "chosen": 9, "rejected": 1})])


def test_split_is_by_prompt_deterministic_and_stable_as_data_grows():
    records = [
        rec(i, "pairwise", {"choice": "A", "chosen": 1, "rejected": 2}, prompt=f"p{i % 40}")
        for i in range(200)
    ]
    ds = build_dataset(records, val_fraction=0.25, seed=7)
    train_keys = {p.prompt_key for p in ds.train_pairs}
    val_keys = {p.prompt_key for p in ds.val_pairs}
    assert train_keys and val_keys and not (train_keys & val_keys)
    assert 4 <= len(val_keys) <= 18  # about a quarter of 40 prompts
    again = build_dataset(list(reversed(records)), val_fraction=0.25, seed=7)
    assert again.data_hash == ds.data_hash
    more = [
        rec(i, "pairwise", {"choice": "A", "chosen": 1, "rejected": 2}, prompt=f"p{i % 80}")
        for i in range(200, 600)
    ]
    grown = build_dataset(records + more, val_fraction=0.25, seed=7)
    # Old prompts keep their side when new ones arrive.
    assert val_keys <= {p.prompt_key for p in grown.val_pairs}
    other_seed = build_dataset(records, val_fraction=0.25, seed=8)
    assert other_seed.data_hash != ds.data_hash


def test_hash_changes_with_any_label():
    base = [rec(1, "pairwise", {"choice": "A", "chosen": 1, "rejected": 2})]
    h1 = build_dataset(base).data_hash
    flipped = [rec(1, "pairwise", {"choice": "B", "chosen": 2, "rejected": 1})]
    assert build_dataset(flipped).data_hash != h1
    assert len(h1) == 64


def test_hh_transcript_parsing():
    msgs, reply = parse_hh_transcript(
        "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: fine"
    )
    assert msgs == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]
    assert reply == "fine"


def test_split_follows_the_prompt_text_not_its_database_id():
    """Regression: the split hashed Prompt.pk, so the same labels split differently on
    another database (the HH-RLHF accuracy test drifted with the suite's id sequence)."""
    records = [
        rec(i, "pairwise", {"choice": "A", "chosen": 1, "rejected": 2}, prompt=f"p{i % 40}")
        for i in range(120)
    ]
    shifted = [
        LabelRecord(**{**r.__dict__, "prompt_key": f"id-{int(r.prompt_key[1:]) + 5000}"})
        for r in records
    ]
    a = build_dataset(records, val_fraction=0.25, seed=3)
    b = build_dataset(shifted, val_fraction=0.25, seed=3)
    assert {str(p.prompt) for p in a.val_pairs} == {str(p.prompt) for p in b.val_pairs}
    assert a.val_pairs and a.train_pairs
