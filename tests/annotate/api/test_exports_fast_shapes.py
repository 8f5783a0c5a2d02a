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
from django.utils import timezone

from annotate.models import Annotation, Item, Prompt, TaskType
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


def test_the_collector_is_back_to_normal_after_an_export(world, settings):
    settings.CHORUS_EXPORT_FAST_READS = True
    assert gc.get_freeze_count() == 0
    _body(world, shape="trl-preference", format="jsonl")
    assert gc.get_freeze_count() == 0
