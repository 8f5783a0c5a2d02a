"""Rows -> bytes, streamed: JSON Lines, CSV and Parquet. Pure: no Django.

Every writer is a generator over an iterable of dicts that yields byte chunks of roughly
``CHUNK_BYTES``, so memory stays flat however many rows flow through. Parquet is written
with pyarrow's ParquetWriter one record batch (``batch_rows`` rows) at a time into a sink
that is drained after every batch; the footer comes last, on close.

Column types are fixed per shape (annotate.exports.schemas), so the Parquet schema is the
documented one even for an empty export. Columns marked ``json`` hold free-form objects
(payload, flags): kept as objects in JSON Lines, JSON text in CSV and Parquet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_BYTES = 256 * 1024
FORMATS = ("jsonl", "csv", "parquet")
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    json: bool = False  # free-form object: JSON text outside JSON Lines


@dataclass
class Tally:
    """Counts rows and bytes and hashes the bytes, as they stream past."""

    rows: int = 0
    size: int = 0
    sha: Any = field(default_factory=hashlib.sha256)

    def count(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            self.rows += 1
            yield row

    def bytes(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            self.sha.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        return str(self.sha.hexdigest())


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# Datetimes go through ``_default`` (isoformat), not orjson's own encoder, so the bytes
# stay what the json module wrote before orjson (a reproduced export keeps its SHA-256).
_ORJSON_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _stdlib_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default, separators=(",", ":"))


def _dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON, about 10x faster than the json module through orjson.

    What orjson refuses (integers beyond 64 bits, lone surrogates) falls back to the json
    module, which wrote every export before; both write the same bytes for everything
    else a payload holds (floats in exponent form aside: ``1e-07`` vs ``1e-7``).
    """
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTS)
    except orjson.JSONEncodeError:
        return _stdlib_dumps(value).encode()


def _dumps(value: Any) -> str:
    return _dumps_bytes(value).decode()


def jsonl_line(row: dict[str, Any], names: list[str]) -> bytes:
    """One JSON Lines line of ``row``'s ``names`` columns, in that order."""
    # Shapes build their rows in column order already: encode the dict as it is and
    # skip building a copy (the copy also fills a missing key with null).
    out = row if len(row) == len(names) and list(row) == names else {n: row.get(n) for n in names}
    try:
        return orjson.dumps(out, default=_default, option=_ORJSON_OPTS | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return _stdlib_dumps(out).encode() + b"\n"


def write_jsonl(rows: Iterable[dict[str, Any]], columns: list[Column]) -> Iterator[bytes]:
    names = [c.name for c in columns]
    buf: list[bytes] = []
    size = 0
    for row in rows:
        line = jsonl_line(row, names)
        buf.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _dumps(value)
    return value


def write_csv(rows: Iterable[dict[str, Any]], columns: list[Column]) -> Iterator[bytes]:
    names = [c.name for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(row.get(n)) for n in names])
        if out.tell() >= CHUNK_BYTES:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


class _Drain(io.RawIOBase):
    """A write-only sink whose contents are taken out after each batch."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, pa.string() if c.json else c.type) for c in columns])


def parquet_stream(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """Parquet (zstd) bytes as each record batch is written, then the footer: the one
    writer lifecycle both the row path and the columnar path (annotate.exports.columnar)
    go through."""
    sink = _Drain()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for batch in batches:
            writer.write_batch(batch)
            chunk = sink.take()
            if chunk:
                yield chunk
    finally:
        writer.close()
    tail = sink.take()
    if tail:
        yield tail


def write_parquet(
    rows: Iterable[dict[str, Any]], columns: list[Column], *, batch_rows: int = 10_000
) -> Iterator[bytes]:
    schema = arrow_schema(columns)
    json_cols = [c.name for c in columns if c.json]

    def record_batch(batch: list[dict[str, Any]]) -> pa.RecordBatch:
        for row in batch:
            for name in json_cols:
                if row.get(name) is not None:
                    row[name] = _dumps(row[name])
        return pa.RecordBatch.from_pylist(batch, schema=schema)

    def record_batches() -> Iterator[pa.RecordBatch]:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_rows:
                yield record_batch(batch)
                batch = []
        if batch:
            yield record_batch(batch)

    return parquet_stream(schema, record_batches())


def write(
    fmt: str, rows: Iterable[dict[str, Any]], columns: list[Column], *, batch_rows: int = 10_000
) -> Iterator[bytes]:
    if fmt == "jsonl":
        return write_jsonl(rows, columns)
    if fmt == "csv":
        return write_csv(rows, columns)
    if fmt == "parquet":
        return write_parquet(rows, columns, batch_rows=batch_rows)
    raise ValueError(f"unknown format {fmt!r}")
