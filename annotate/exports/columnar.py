"""Columnar CSV and Parquet (issue 14): a chunk of rows as columns, written column-wise.

A batch is ``{column name: [values]}`` in the shape's column order, one per keyset chunk
of the read. Parquet gets one pyarrow RecordBatch per chunk, built array by array
(``pa.array`` per column) instead of from a list of row dicts; CSV converts each column
once (only columns holding values the csv module would write differently go through the
per-cell conversion) and hands the rows to ``csv.writer.writerows``.

The output is the row writers' (annotate.exports.writers): the same CSV bytes, and for
Parquet the same table (schema and values; row groups follow the chunks). The tests
compare both. ``raw_batch`` builds raw's columns straight from a chunk of selected
tuples, without the base row and raw row dicts. Pure: no Django.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa

from .privacy import PrivacySettings, suppress
from .writers import CHUNK_BYTES, Column, _csv_cell, _dumps, arrow_schema, parquet_stream

Batch = dict[str, list[Any]]
# What the csv module writes as _csv_cell would (None is written as an empty field).
_CSV_PLAIN = frozenset({str, int, float, type(None)})


def rows_batch(rows: list[dict[str, Any]], columns: list[Column]) -> Batch:
    """Row dicts (a shape's output) as columns; a missing key is null, as in the writers."""
    return {c.name: [row.get(c.name) for row in rows] for c in columns}


def write_parquet_batches(batches: Iterable[Batch], columns: list[Column]) -> Iterator[bytes]:
    schema = arrow_schema(columns)

    def record_batches() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch or not next(iter(batch.values())):
                continue
            arrays = []
            for column, field in zip(columns, schema, strict=True):
                values = batch[column.name]
                if column.json:
                    values = [None if v is None else _dumps(v) for v in values]
                arrays.append(_arrow(values, field.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return parquet_stream(schema, record_batches())


def _shared(values: list[Any]) -> tuple[list[Any], list[int]] | None:
    """(distinct objects, index of each value) when the column repeats the same list or
    dict objects (an item's responses and messages, shared by its labels), else None.

    Identity, not equality: every value is alive in ``values`` while this runs, so no two
    of them can share an ``id``; equal but distinct objects are simply converted twice.
    """
    if not values or type(values[0]) not in (list, dict):
        return None
    at: dict[int, int] = {}
    distinct: list[Any] = []
    index = []
    for v in values:
        k = id(v)
        i = at.get(k)
        if i is None:
            i = at[k] = len(distinct)
            distinct.append(v)
        index.append(i)
    return (distinct, index) if len(distinct) * 2 <= len(values) else None


def _arrow(values: list[Any], type_: pa.DataType) -> pa.Array:
    shared = _shared(values)
    if shared is None:
        return pa.array(values, type=type_)
    distinct, index = shared
    return pa.array(distinct, type=type_).take(pa.array(index, type=pa.int32()))


def _csv_column(values: list[Any]) -> list[Any]:
    if set(map(type, values)) <= _CSV_PLAIN:
        return values
    shared = _shared(values)
    if shared is not None:
        cells = [_csv_cell(v) for v in shared[0]]
        return [cells[i] for i in shared[1]]
    return [_csv_cell(v) for v in values]


def write_csv_batches(batches: Iterable[Batch], columns: list[Column]) -> Iterator[bytes]:
    names = [c.name for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for batch in batches:
        writer.writerows(zip(*(_csv_column(batch[n]) for n in names), strict=True))
        if out.tell() >= CHUNK_BYTES:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


def write_batches(fmt: str, batches: Iterable[Batch], columns: list[Column]) -> Iterator[bytes]:
    if fmt == "csv":
        return write_csv_batches(batches, columns)
    if fmt == "parquet":
        return write_parquet_batches(batches, columns)
    raise ValueError(f"no columnar writer for {fmt!r}")


class Chunk(Protocol):
    """annotate.selectors.exports.BaseChunk, read with details (raw's columns)."""

    keys: list[str]
    values: list[Any]
    responses: dict[int, list[dict[str, Any]]]
    slug: str
    profile_fields: tuple[str, ...]
    privacy: PrivacySettings
    publishable: dict[str, set[Any]]

    def item_facts(self, item_id: int) -> dict[str, Any]: ...


def _key(values: Sequence[Any]) -> Any:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def raw_batch(chunk: Chunk, profile_fields: Sequence[str]) -> Batch:
    """``shapes.raw_rows`` of a whole chunk, column by column."""
    values, at = chunk.values, {k: i for i, k in enumerate(chunk.keys)}

    def col(key: str) -> list[Any]:
        i = at[key]
        return [v[i] for v in values]

    item_ids = col("item_id")
    facts = [chunk.item_facts(i) for i in item_ids]
    batch: Batch = {
        "annotation_id": col("annotation_id"),
        "campaign": [chunk.slug] * len(values),
        "item_id": item_ids,
        "task_type": col("task_type"),
        "language": [f["language"] for f in facts],
        "annotator_id": col("annotator_id"),
        "source": col("source"),
        "judge": col("judge"),
        "judge_prompt_version": col("judge_prompt_version"),
        "created_at": col("created_at"),
        "time_spent_ms": col("time_spent_ms"),
        "guideline_version": col("guideline_version"),
        "profile_version": col("profile_version"),
        "prompt": [f["prompt"] for f in facts],
        "messages": [f["messages"] or [] for f in facts],
        "responses": [chunk.responses.get(i, []) for i in item_ids],
        "presented_order": col("presented_order"),
        "payload": col("payload"),
        "flags": col("flags"),
    }
    if profile_fields:
        batch.update(_profile_columns(chunk, profile_fields, batch["profile_version"]))
    return batch


def _profile_columns(chunk: Chunk, profile_fields: Sequence[str], versions: list[Any]) -> Batch:
    """``profile_<field>`` columns, suppressed (k-anonymity) once per distinct profile."""
    n_base, fields = len(chunk.keys), chunk.profile_fields
    seen: dict[Any, dict[str, Any]] = {}
    profiles = []
    for values, version in zip(chunk.values, versions, strict=True):
        raw = values[n_base:]
        try:
            key: Any = (version is None, _key(raw))
            profile = seen.get(key)
        except TypeError:  # an unhashable value: no caching for this one
            key, profile = None, None
        if profile is None:
            given = dict(zip(fields, raw, strict=True)) if version is not None else None
            profile = suppress(given, chunk.privacy, chunk.publishable)
            if key is not None:
                seen[key] = profile
        profiles.append(profile)
    return {f"profile_{f}": [p.get(f) for p in profiles] for f in profile_fields}
