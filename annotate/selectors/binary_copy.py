"""Fixed-width rows of a PostgreSQL binary ``COPY ... TO STDOUT``, as numpy arrays.

When no field of a query is ever NULL (COALESCE to a sentinel) and every field has a
fixed-size type (int2/int4/int8/float8/timestamptz), every row of the binary COPY stream
has the same width, so a block of rows *is* a numpy structured array (big-endian): no
parsing at all, only a byte swap per column when the caller converts. Used by analytics
(annotate.selectors.analytics_load) and by the trl-preference export
(annotate.selectors.export_labels), issue 14.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from django.db import OperationalError

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TRAILER = b"\xff\xff"  # a field count of -1: the end of a binary COPY
CHUNK_BYTES = 4 << 20


def row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype:
    """One row of the stream for ``(name, big-endian numpy kind)`` fields: a field count,
    then (length, value) per field."""
    return np.dtype(
        [("n_fields", ">i2")]
        + [item for name, kind in fields for item in ((f"len_{name}", ">i4"), (name, kind))]
    )


def _copy_chunks(cursor: Any, sql: str, params: Sequence[Any]) -> Iterator[bytearray]:
    """The bytes of a binary ``COPY ... TO STDOUT``, in chunks of about ``CHUNK_BYTES``.

    PostgreSQL sends one message per row, and psycopg's ``Copy.read()`` costs about 2 us
    of Python per message (a generator and a wait per call): 2 s for 1M rows. Here the
    rows libpq already holds are taken with a non-blocking ``get_copy_data`` (well under
    1 us each), and ``Copy.read()`` is called only to wait for more and, after the binary
    trailer, to end the COPY, so psycopg still reads the end of the stream and its result.
    """
    pgconn = cursor.connection.pgconn
    get = pgconn.get_copy_data
    with cursor.copy(sql, params) as copy:
        # The first message is the header with the first row, or with the trailer when
        # there are no rows; after that PostgreSQL sends the trailer on its own.
        chunk = bytearray(copy.read())
        header = 19 + int.from_bytes(chunk[15:19], "big") if len(chunk) >= 19 else 0
        empty = len(chunk) == header + 2 and chunk[-2:] == _TRAILER
        while not empty:
            nbytes, data = get(1)
            if nbytes > 0:
                chunk += data
                if nbytes == 2 and bytes(data) == _TRAILER:
                    break
                continue
            if nbytes < 0:  # ended with no trailer (an error): psycopg cannot recover it
                raise OperationalError("a binary COPY ended before its trailer")
            if len(chunk) >= CHUNK_BYTES:
                yield chunk
                chunk = bytearray()
            data = copy.read()  # nothing buffered: psycopg waits for the socket
            chunk += data
            if not data or (len(data) == 2 and bytes(data) == _TRAILER):
                break
        while copy.read():  # the end of the COPY and its result, read by psycopg
            pass
    yield chunk


def _check(rows: np.ndarray, fields: Sequence[tuple[str, str]]) -> None:
    if (rows["n_fields"] != len(fields)).any() or any(
        (rows[f"len_{name}"] != np.dtype(kind).itemsize).any() for name, kind in fields
    ):
        raise ValueError("unexpected row layout in the COPY stream")


def _strip_header(buf: bytearray) -> bool:
    """Remove the stream's header from ``buf`` once it has all arrived (True), else
    leave ``buf`` as it is (False). Raises ValueError when it is not a binary COPY."""
    if len(buf) < 19:
        return False
    if bytes(buf[:11]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    skip = 19 + int.from_bytes(buf[15:19], "big")  # header extension
    if len(buf) < skip:
        return False
    del buf[:skip]
    return True


def copy_fixed_rows(
    cursor: Any, query: str, params: Sequence[Any], fields: Sequence[tuple[str, str]]
) -> Iterator[np.ndarray]:
    """The rows of ``query`` (a SELECT whose columns are ``fields``, none ever NULL) as
    structured arrays of ``row_dtype(fields)``, a few MB at a time (views of buffers
    nothing else uses; big-endian). ``cursor`` is a psycopg cursor; psycopg binds COPY
    parameters client-side.
    Raises ValueError when the stream does not have the expected layout."""
    dtype = row_dtype(fields)
    buf = bytearray()
    header_done = False
    sql = f"COPY ({query}) TO STDOUT (FORMAT binary)"
    for chunk in _copy_chunks(cursor, sql, params):
        if buf:
            buf += chunk
        else:
            buf = chunk  # _copy_chunks starts a new bytearray after each: no copy needed
        del chunk
        if not header_done:
            header_done = _strip_header(buf)
            if not header_done:
                continue
        # Whole rows only (the trailer, 2 bytes, is shorter than any row): a row cut
        # between two chunks waits for its end in a new buffer, and the rows are a view
        # of the old one, which is never changed again (no copy of the block).
        n = len(buf) // dtype.itemsize
        if n:
            rows = np.frombuffer(buf, dtype=dtype, count=n)
            buf = bytearray(buf[n * dtype.itemsize :])
            _check(rows, fields)
            yield rows
    if not header_done or bytes(buf) != _TRAILER:
        raise ValueError("truncated COPY stream")


def copy_blobs(cursor: Any, query: str, params: Sequence[Any]) -> Iterator[bytes]:
    """The single bytea column of each row of ``query`` (never NULL), streamed by a
    binary ``COPY ... TO STDOUT``: for queries that pack many values into few large
    rows (annotate.selectors.analytics_load), so nothing but the row being read is held.
    ``cursor`` is a psycopg cursor. Raises ValueError on an unexpected stream."""
    buf = bytearray()
    header_done = False
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy:
        for data in copy:
            buf += data
            if not header_done:
                header_done = _strip_header(buf)
                if not header_done:
                    continue
            while len(buf) >= 6:
                n_fields = int.from_bytes(buf[:2], "big", signed=True)
                if n_fields == -1:  # the trailer
                    break
                size = int.from_bytes(buf[2:6], "big", signed=True)
                if n_fields != 1 or size < 0:
                    raise ValueError("unexpected row layout in the COPY stream")
                if len(buf) < 6 + size:
                    break
                yield bytes(buf[6 : 6 + size])
                del buf[: 6 + size]
    if not header_done or bytes(buf) != _TRAILER:
        raise ValueError("truncated COPY stream")
