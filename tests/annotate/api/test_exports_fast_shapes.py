"""Issue 14: the chunked trl-preference path (annotate.exports.fast_preference: pairwise
labels unrolled, JSON Lines formatted from pre-encoded parts) and the columnar writers
give the bytes the general path gives, for every option, filter and label kind.

Each export runs twice: on PostgreSQL's fast path, and with
``CHORUS_EXPORT_FAST_READS = False`` (the ORM reads and per-row shapes SQLite uses).
"""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.utils import timezone

from annotate.exports.privacy import privacy_settings
from annotate.models import Annotation, Item, Prompt, TaskType
from annotate.selectors import export_labels
from annotate.services.judges import judge_create
from modelserve.generation.judging import judge_campaign_run
from tests.annotate.api.conftest import make_annotation, response_ids
from tests.annotate.judges.conftest import SIM_BACKENDS
from tests.factories import ItemFactory, ModelEndpointFactory

FORMATS = ["jsonl", "csv", "parquet"]


def _body(world: Any, **params: Any) -> bytes:
    response = world.client("res_a").get("/api/v1/campaigns/alpha/export", params)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _table(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def _pairwise(world: Any, annotator: Any, payload: dict[str, Any], **item: Any) -> Any:
    it = ItemFactory(campaign=world.alpha, task_type=TaskType.PAIRWISE, **item)
    a, b = response_ids(it)
    full = {"choice": "A", "reason": "", "response_ids": [a, b], "chosen": a, "rejected": b}
    full.update({k: (a if v == "A" else b if v == "B" else v) for k, v in payload.items()})
    return make_annotation(it, annotator, full)


@pytest.fixture
def rich(world: Any, settings: Any) -> Any:
    """The API world plus every kind of label the fast path must hand on or unroll."""
    settings.CHORUS_GENERATION_BACKENDS = SIM_BACKENDS
    ann_1, ann_2 = world.ann_1, world.ann_2
    # AI judges' labels (issue 16), exported only when asked for.
    endpoint = ModelEndpointFactory(backend="sim", model="sim", params={})
    judge_create(campaign=world.alpha, name="sim-judge", endpoint=endpoint)
    judge_campaign_run(campaign_id=world.alpha.pk)
    assert Annotation.all_sources.filter(campaign=world.alpha, source="ai").exists()
    # Pairwise variants: no strength, a fractional one, B chosen, a second label on the
    # same item and pair (cached parts), float ids (written 12.0 by the general path).
    _pairwise(world, ann_1, {"strength": None})
    _pairwise(world, ann_1, {"strength": -1.5, "chosen": "B", "rejected": "A"})
    twice = _pairwise(world, ann_1, {"strength": 3})
    make_annotation(twice.item, ann_2, {**twice.payload, "strength": -2})
    floats = _pairwise(world, ann_2, {"strength": 1})
    fa, fb = response_ids(floats.item)
    floats.payload = {**floats.payload, "chosen": float(fa), "rejected": float(fb)}
    floats.save(update_fields=["payload"])
    _pairwise(world, ann_2, {"chosen": None, "rejected": None, "choice": "tie"})
    # Strengths PostgreSQL does not read as plain integers: handed on, not unrolled.
    _pairwise(world, ann_1, {"strength": True})
    _pairwise(world, ann_2, {"strength": -(10**20)})
    # Label columns left empty by odd JSON (no shown ids; a choice that is none of A, B,
    # tie) while chosen and rejected are there: handed on too.
    _pairwise(world, ann_1, {"strength": 1, "response_ids": None})
    _pairwise(world, ann_2, {"strength": -1, "choice": "a"})
    # A French item with a multi-turn prompt (plain-text transcript / message list).
    fr = _pairwise(world, ann_2, {"strength": 2})
    Item.objects.filter(pk=fr.item_id).update(language="fr")
    Prompt.objects.filter(pk=fr.item.prompt_id).update(
        messages=[
            {"role": "user", "content": "Bonjour, « marées » ?"},
            {"role": "assistant", "content": "Oui."},
            {"role": "user", "content": 'Pourquoi deux par jour ?\n"Vraiment"'},
        ]
    )
    # Best-worst, an unchanged edit (no pair) and an edit of an item with no responses.
    bws = ItemFactory(campaign=world.alpha, task_type=TaskType.BWS)
    ids = response_ids(bws)
    make_annotation(bws, ann_1, {"best": ids[2], "worst": ids[0], "response_ids": ids})
    ed = ItemFactory(campaign=world.alpha, task_type=TaskType.EDIT)
    (e,) = response_ids(ed)
    same = ed.item_responses.get().response.text
    make_annotation(ed, ann_2, {"response_id": e, "edited_text": same, "original_text": same})
    bare = ItemFactory(campaign=world.alpha, task_type=TaskType.EDIT, with_responses__n=0)
    bare.item_responses.all().delete()
    make_annotation(
        bare,
        ann_1,
        {"response_id": None, "edited_text": "Better.", "original_text": "Worse."},
    )
    # An older label, for the date filter.
    old = _pairwise(world, ann_1, {"strength": 1})
    Annotation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    return world


CASES: list[dict[str, Any]] = [
    {},
    {"conversational": 1},
    {"ranking_pairs": "adjacent", "min_margin": 5},
    {"ranking_pairs": "best", "attribute": "helpfulness"},
    {"sources": "pairwise"},
    {"sources": ["ranking", "bws", "edit"]},
    {"source": "ai"},
    {"source": "all", "conversational": 1},
    {"language": "fr"},
    {"created_after": (timezone.now() - timedelta(days=1)).isoformat()},
    {"task_type": "pairwise"},
]


def _both(settings: Any, world: Any, **params: Any) -> tuple[bytes, bytes]:
    settings.CHORUS_EXPORT_FAST_READS = True
    fast = _body(world, **params)
    settings.CHORUS_EXPORT_FAST_READS = False
    orm = _body(world, **params)
    return fast, orm


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_trl_preference_fast_path_is_the_general_paths_bytes(rich, settings, fmt, case):
    params = {"shape": "trl-preference", "format": fmt, **CASES[case]}
    fast, orm = _both(settings, rich, **params)
    if fmt == "parquet":
        assert _table(fast).equals(_table(orm))
        assert _table(fast).num_rows > 0
    else:
        assert fast == orm
        assert fast.count(b"\n") > (1 if fmt == "csv" else 0)  # something was exported


def test_jsonl_read_in_small_chunks_is_the_same(rich, settings, monkeypatch):
    """Several COPY chunks: the keyset, the caches kept across chunks, the names."""
    monkeypatch.setattr(export_labels, "CHUNK", 2)
    for params in ({}, {"source": "all"}):
        fast, orm = _both(settings, rich, shape="trl-preference", format="jsonl", **params)
        assert fast == orm and fast.count(b"\n") > 4


def test_label_columns_say_which_labels_are_unrolled(rich):
    """PostgreSQL classifies each label: ties skipped, plain pairwise ones unrolled, the
    rest (other types, float ids, odd strengths) handed on to the general shapes."""
    chunks = list(
        export_labels.export_label_chunks(
            campaign=rich.alpha,
            filters={"source": ["human", "ai"]},
            privacy=privacy_settings(rich.alpha.config),
            max_id=None,
            task_types=("pairwise", "ranking", "rating", "edit", "bws"),
        )
    )
    fast = {i: k for c in chunks for i, k in zip(c.columns["id"], c.columns["kind"], strict=True)}
    general = [v[0] for c in chunks if c.general for v in c.general.values]
    assert list(fast) == sorted(fast) and general == sorted(general) and fast and general
    labels = Annotation.all_sources.filter(campaign=rich.alpha)
    assert sum(c.read for c in chunks) == labels.count()
    for label in labels:
        payload = label.payload
        kind = fast.get(label.pk, export_labels.GENERAL if label.pk in general else None)
        if label.task_type != "pairwise":
            assert kind == export_labels.GENERAL
        elif payload.get("chosen") is None:
            assert kind is None  # a tie: read, and left out
        elif (
            payload.get("response_ids") is None
            or payload.get("choice") not in ("A", "B")
            or type(payload["chosen"]) is float
            or type(payload.get("strength")) in (bool, float)
            or abs(payload.get("strength") or 0) > 10**18
        ):
            assert kind == export_labels.GENERAL, payload
        elif payload.get("strength") is None:
            assert kind == export_labels.FAST, payload
        else:
            assert kind == export_labels.FAST_STRENGTH, payload
    assert set(fast.values()) == {export_labels.FAST, export_labels.FAST_STRENGTH}


def test_fast_jsonl_covers_the_unrolled_and_handed_on_labels(rich, settings):
    settings.CHORUS_EXPORT_FAST_READS = True
    lines = _body(rich, shape="trl-preference", format="jsonl").decode().splitlines()
    sources = {line.split('"source":"', 1)[1].split('"', 1)[0] for line in lines}
    assert sources == {"pairwise", "ranking", "rating", "edit", "bws"}
    assert any('"chosen_response_id":' in x and '.0,"rejected_response_id"' in x for x in lines)
    assert any('"margin":1.5,' in x for x in lines) and any('"margin":null,' in x for x in lines)
    assert any('"language":"fr"' in x and "user: Bonjour" in x for x in lines)


@pytest.mark.parametrize("shape", ["raw", "trl-preference"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("params", [{}, {"source": "all"}, {"language": "fr"}])
def test_columnar_writers_match_the_row_writers(rich, settings, shape, fmt, params):
    fast, orm = _both(settings, rich, shape=shape, format=fmt, **params)
    if fmt == "parquet":
        assert _table(fast).equals(_table(orm))
        assert _table(fast).num_rows > 0
    else:
        assert fast == orm and fast.count(b"\n") > 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_reading_ahead_give_the_general_paths_bytes(rich, settings, fmt):
    """Outside a transaction the fast paths read in another thread
    (annotate.selectors.read_ahead), on committed data: still the general path's bytes."""
    assert not connection.in_atomic_block
    for case in (CASES[0], CASES[7]):
        for shape in ("trl-preference", "raw"):
            fast, orm = _both(settings, rich, shape=shape, format=fmt, **case)
            if fmt == "parquet":
                assert _table(fast).equals(_table(orm)) and _table(fast).num_rows > 0
            else:
                assert fast == orm and fast.count(b"\n") > 1


def test_the_collector_is_back_to_normal_after_an_export(world, settings):
    settings.CHORUS_EXPORT_FAST_READS = True
    assert gc.get_freeze_count() == 0
    _body(world, shape="trl-preference", format="jsonl")
    assert gc.get_freeze_count() == 0
