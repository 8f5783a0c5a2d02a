"""The columnar writers (annotate.exports.columnar) against the row writers, pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from annotate.exports import columnar, writers
from annotate.exports.schemas import MESSAGES
from annotate.exports.writers import Column

COLUMNS = [
    Column("id", pa.int64()),
    Column("text", pa.string()),
    Column("score", pa.float64()),
    Column("ok", pa.bool_()),
    Column("at", pa.timestamp("us", tz="UTC")),
    Column("messages", MESSAGES),
    Column("order", pa.list_(pa.int64())),
    Column("payload", pa.string(), json=True),
]


def _rows() -> list[dict]:
    shared = [{"role": "user", "content": 'say "hi",\nthen\r\nbye é'}]
    other = [{"role": "assistant", "content": ""}]
    texts = ["plain", 'a "quoted", comma', "line\nbreak", "cr\rhere", "", None, "ünï"]
    rows = []
    for i in range(40):
        rows.append(
            {
                "id": i,
                "text": texts[i % len(texts)],
                "score": None if i % 5 == 0 else i / 3,
                "ok": None if i % 7 == 0 else i % 2 == 0,
                "at": datetime(2026, 1, 1, i % 24, tzinfo=UTC),
                "messages": shared if i % 3 else other,  # the same objects, repeated
                "order": [i, i + 1] if i % 4 else None,
                "payload": {"k": i, "s": "x,y"} if i % 6 else None,
            }
        )
    return rows


def _batches(rows: list[dict], size: int) -> list[columnar.Batch]:
    return [columnar.rows_batch(rows[i : i + size], COLUMNS) for i in range(0, len(rows), size)]


def test_columnar_csv_is_the_row_writers_bytes():
    rows = _rows()
    expected = b"".join(writers.write_csv(iter(rows), COLUMNS))
    got = b"".join(columnar.write_csv_batches(_batches(rows, 16), COLUMNS))
    assert got == expected
    assert b'"a ""quoted"", comma"' in got and b"true" in got and b"false" in got


def test_columnar_parquet_is_the_row_writers_table():
    rows = _rows()
    expected = b"".join(writers.write_parquet(iter([dict(r) for r in rows]), COLUMNS))
    got = b"".join(columnar.write_parquet_batches(_batches(rows, 16), COLUMNS))
    want = pq.read_table(pa.BufferReader(expected))
    table = pq.read_table(pa.BufferReader(got))
    assert table.schema == want.schema and table.num_rows == 40
    assert table.equals(want)
    assert table.column("messages")[1].as_py() == rows[1]["messages"]


def test_shared_objects_are_converted_once_but_equal_ones_are_not_merged():
    a, b = [1], [1]
    distinct, index = columnar._shared([a, a, a, b])  # type: ignore[misc]
    assert distinct == [a, b] and distinct[1] is b and index == [0, 0, 0, 1]
    assert columnar._shared([[1], [2]]) is None  # nothing repeats: plain conversion
    assert columnar._shared(["x", "x"]) is None


def test_an_empty_export_is_a_header_or_an_empty_table():
    assert b"".join(columnar.write_csv_batches([], COLUMNS)) == b"".join(
        writers.write_csv([], COLUMNS)
    )
    table = pq.read_table(pa.BufferReader(b"".join(columnar.write_parquet_batches([], COLUMNS))))
    assert table.num_rows == 0 and table.schema == writers.arrow_schema(COLUMNS)
