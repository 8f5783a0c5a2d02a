"""The fast export paths (issue 14), on PostgreSQL: trl-preference a chunk at a time,
JSON Lines formatted from pre-encoded parts, and CSV/Parquet written column-wise.

annotate.services.exports picks them when ``export_fast_reads()`` holds and falls back to
the general path (base row -> shape -> row writer) otherwise; both give the same bytes
(Parquet: the same table), which tests/annotate/api/test_exports_fast*.py compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from annotate.exports import columnar, fast_preference, shapes
from annotate.exports.privacy import PrivacySettings
from annotate.exports.writers import Column, Tally, jsonl_line
from annotate.models import Export
from annotate.selectors import exports as sel
from annotate.selectors.export_labels import export_label_chunks
from annotate.selectors.read_ahead import read_ahead

PROGRESS_EVERY = 20_000  # base rows between progress writes of a running job


def export_options(export: Export) -> shapes.ShapeOptions:
    data = dict(export.options)
    data["sources"] = tuple(data.get("sources") or shapes.ShapeOptions.sources)
    return shapes.ShapeOptions(**data)


def _counting_chunks(
    chunks: Iterator[sel.BaseChunk], on_row: Callable[[int], None] | None
) -> Iterator[sel.BaseChunk]:
    n = 0
    for chunk in chunks:
        before, n = n, n + len(chunk.values)
        if on_row is not None and n // PROGRESS_EVERY > before // PROGRESS_EVERY:
            on_row(n)
        yield chunk


# Lean rows (no profile or detail joins) read in larger chunks: at 1M, 10,000 a query
# cost the database less per row than 5,000 (planning and the per-chunk
# responses query amortised); 20,000 took the peak RSS past 300 MB.
PREFERENCE_CHUNK = 10_000


def _preference_chunks(
    export: Export, privacy: PrivacySettings, on_row: Callable[[int], None] | None
) -> Iterator[sel.BaseChunk]:
    """The chunks trl-preference reads: only the label types that can make a pair."""
    reads = partial(
        sel.export_base_chunks,
        campaign=export.campaign,
        filters=export.filters,
        privacy=privacy,
        max_id=export.max_annotation_id,
        details=False,
        task_types=fast_preference.source_task_types(export_options(export)),
        chunk_size=PREFERENCE_CHUNK,
    )
    return _counting_chunks(read_ahead(reads, setup=sel.export_reads_tuned), on_row)


def fast_preference_rows(
    export: Export, privacy: PrivacySettings, on_row: Callable[[int], None] | None
) -> Iterator[dict[str, Any]]:
    """trl-preference a chunk at a time (annotate.exports.fast_preference): the same rows
    as ``_shaped``."""
    opts, overall = export_options(export), export.campaign.overall_attribute
    for chunk in _preference_chunks(export, privacy, on_row):
        yield from fast_preference.preference_chunk(chunk, opts, overall=overall)


# Shapes whose CSV and Parquet are written column-wise, a chunk at a time.
COLUMNAR_SHAPES = ("raw", "trl-preference")


def columnar_batches(
    export: Export,
    privacy: PrivacySettings,
    on_row: Callable[[int], None] | None,
    columns: list[Column],
) -> Iterator[columnar.Batch]:
    if export.shape == "raw":
        reads = partial(
            sel.export_base_chunks,
            campaign=export.campaign,
            filters=export.filters,
            privacy=privacy,
            max_id=export.max_annotation_id,
        )
        for chunk in _counting_chunks(read_ahead(reads, setup=sel.export_reads_tuned), on_row):
            yield columnar.raw_batch(chunk, privacy.profile_fields)
        return
    opts, overall = export_options(export), export.campaign.overall_attribute
    for chunk in _preference_chunks(export, privacy, on_row):
        rows = fast_preference.preference_chunk(chunk, opts, overall=overall)
        yield columnar.rows_batch(rows, columns)


def counted(batches: Iterator[columnar.Batch], tally: Tally) -> Iterator[columnar.Batch]:
    for batch in batches:
        tally.rows += len(next(iter(batch.values()), []))
        yield batch


def fast_preference_jsonl(
    export: Export,
    privacy: PrivacySettings,
    on_row: Callable[[int], None] | None,
    columns: list[Column],
    tally: Tally,
) -> Iterator[bytes]:
    """trl-preference JSON Lines a chunk at a time: the bytes ``write`` makes of
    ``fast_preference_rows``. Labels are read as plain columns by binary COPY
    (annotate.selectors.export_labels) and pairwise lines formatted from pre-encoded
    parts (annotate.exports.fast_preference.preference_label_lines)."""
    opts, overall = export_options(export), export.campaign.overall_attribute
    names = [c.name for c in columns]
    if "pairwise" not in opts.sources:  # no pairwise lines to format: the row path
        for rows in fast_preference.preference_chunks(
            _preference_chunks(export, privacy, on_row), opts, overall=overall
        ):
            tally.rows += len(rows)
            yield b"".join([jsonl_line(row, names) for row in rows])
        return
    caches: dict[str, Any] = {}
    n_read = 0
    reads = partial(
        export_label_chunks,
        campaign=export.campaign,
        filters=export.filters,
        privacy=privacy,
        max_id=export.max_annotation_id,
        task_types=fast_preference.source_task_types(opts),
    )
    for labels in read_ahead(reads, setup=sel.export_reads_tuned):
        before, n_read = n_read, n_read + labels.read
        if on_row is not None and n_read // PROGRESS_EVERY > before // PROGRESS_EVERY:
            on_row(n_read)
        n, data = fast_preference.preference_label_lines(
            labels, opts, overall=overall, names=names, caches=caches
        )
        tally.rows += n
        yield data
