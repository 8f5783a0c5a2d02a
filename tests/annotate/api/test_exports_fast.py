"""Issue 14: the fast export path writes the very bytes the ORM path and the json module did.

Every shape and format is exported twice, through the PostgreSQL read path
(annotate.selectors.export_rows: bare cursor, orjson) and through the ORM path that
SQLite uses (``CHORUS_EXPORT_FAST_READS = False``); the bodies must be identical. JSON Lines
written with orjson must equal what the json module writes for the same values.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate.exports.privacy import privacy_settings
from annotate.models import Conversation, Prompt
from annotate.selectors import exports as sel

SHAPES = ["raw", "trl-preference", "trl-unpaired", "ranking", "prism"]
FORMATS = ["jsonl", "csv", "parquet"]


def _body(world: Any, **params: Any) -> bytes:
    response = world.client("res_a").get("/api/v1/campaigns/alpha/export", params)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _in_conversations(world: Any) -> None:
    for prompt in Prompt.objects.filter(campaign=world.alpha):
        prompt.conversation = Conversation.objects.create(campaign=world.alpha, source="test")
        prompt.save(update_fields=["conversation"])


def _members(body: bytes, fmt: str) -> dict[str, bytes]:
    """A PRISM zip's members, or the body itself (zip timestamps may differ per run)."""
    if not body.startswith(b"PK"):
        return {"": body}
    archive = zipfile.ZipFile(io.BytesIO(body))
    return {name: archive.read(name) for name in archive.namelist()}


def _table(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_fast_path_writes_the_orm_paths_bytes(world, settings, shape, fmt):
    _in_conversations(world)
    params = {"shape": shape, "format": fmt}
    settings.CHORUS_EXPORT_FAST_READS = True
    fast = _members(_body(world, **params), fmt)
    settings.CHORUS_EXPORT_FAST_READS = False
    orm = _members(_body(world, **params), fmt)
    assert fast.keys() == orm.keys()
    for name in fast:
        if fmt == "parquet":  # the file metadata names the writer; compare the data
            assert _table(fast[name]).equals(_table(orm[name])), name
            assert _table(fast[name]).num_rows > 0 or shape == "prism", name
        else:
            assert fast[name] == orm[name], name
            assert fast[name].strip(), name


@pytest.mark.parametrize("shape", SHAPES)
def test_orjson_lines_equal_the_json_modules(world, shape):
    _in_conversations(world)
    for name, data in _members(_body(world, shape=shape, format="jsonl"), "jsonl").items():
        lines = data.decode().splitlines()
        assert lines, name
        for line in lines:
            value = json.loads(line)
            assert line == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_base_rows_are_the_same_on_both_paths(world):
    privacy = privacy_settings(world.alpha.config)
    for details in (True, False):
        args = {"campaign": world.alpha, "filters": {}, "privacy": privacy, "max_id": None}
        fast = list(sel.export_base_rows(**args, details=details, fast=True, chunk_size=3))
        orm = list(sel.export_base_rows(**args, details=details, fast=False, chunk_size=4))
        assert fast == orm and len(fast) == 10
