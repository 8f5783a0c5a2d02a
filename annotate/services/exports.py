"""Exports: record each one, stream it, or run it as a Celery job that leaves a file.

Every export gets an ``Export`` row first (shape, format, options, filters and the
newest annotation id at the time), so a dataset can be traced and rebuilt; when its
bytes have all been produced the row gets the row count, size and SHA-256.

Small and medium exports stream straight to the client (flat memory: keyset chunks of
``values()`` rows -> shape -> writer). Above ``settings.CHORUS_EXPORT_SYNC_MAX_ROWS``
matching annotations (default 200,000), or when the client asks with ``async=1``, the
export runs on the "default" Celery queue (annotate.tasks.export_run) and writes
``CHORUS_EXPORT_DIR/<id>.<ext>``; the client polls the export and downloads the file.
A failed export, streamed or not, is marked "failed" with the reason in ``error``.
"""

from __future__ import annotations

import gc
import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate import events
from annotate.exports import columnar, prism, shapes
from annotate.exports.privacy import PrivacySettings, privacy_settings
from annotate.exports.schemas import columns_for, prism_columns
from annotate.exports.writers import Tally, _Drain, write
from annotate.models import Campaign, Export, ExportStatus
from annotate.selectors import export_prism
from annotate.selectors import exports as sel
from annotate.services.export_fast import (
    COLUMNAR_SHAPES,
    PROGRESS_EVERY,
    columnar_batches,
    counted,
    export_options,
    fast_preference_jsonl,
    fast_preference_rows,
)
from annotate.tasks_util import enqueue

log = logging.getLogger(__name__)
# Celery task name (see annotate.tasks); enqueued by name, not imported.
EXPORT_RUN = "annotate.tasks.export_run"


def sync_max_rows() -> int:
    return int(getattr(settings, "CHORUS_EXPORT_SYNC_MAX_ROWS", 200_000))


def export_extension(export: Export) -> str:
    return "zip" if export.shape == "prism" else export.format


def export_filename(export: Export) -> str:
    return f"{export.campaign.slug}-{export.shape}-{export.pk}.{export_extension(export)}"


@transaction.atomic
def export_create(
    *,
    campaign: Campaign,
    requested_by: Any,
    shape: str,
    fmt: str,
    options: shapes.ShapeOptions,
    filters: dict[str, Any],
    is_async: bool = False,
) -> Export:
    """Record an export about to run; pins the newest annotation id it may include."""
    options_dict = asdict(options)
    options_dict["sources"] = list(options.sources)
    return Export.objects.create(
        campaign=campaign,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        shape=shape,
        format=fmt,
        options=options_dict,
        filters=filters,
        max_annotation_id=sel.export_max_annotation_id(campaign=campaign),
        is_async=is_async,
        status=ExportStatus.QUEUED if is_async else ExportStatus.RUNNING,
    )


@transaction.atomic
def export_reproduce(*, export: Export, requested_by: Any) -> Export:
    """A new export with the same campaign, shape, format, options, filters and newest
    annotation id as ``export``: the same bytes (same SHA-256) unless an annotator has
    deleted their data since. Runs as a background job, queued once this commits."""
    again = Export.objects.create(
        campaign=export.campaign,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        shape=export.shape,
        format=export.format,
        options=export.options,
        filters=export.filters,
        max_annotation_id=export.max_annotation_id,
        is_async=True,
        status=ExportStatus.QUEUED,
    )
    export_queue(export=again)
    return again


def export_queue(*, export: Export) -> None:
    """Send a queued export to a worker once the caller commits (the worker must find the
    row). ``enqueue`` survives a broker outage (issue 8): the export stays queued."""
    transaction.on_commit(lambda: enqueue(EXPORT_RUN, export.pk))


def export_count(*, campaign: Campaign, filters: dict[str, Any]) -> int:
    return int(sel.export_queryset(campaign=campaign, filters=filters).count())


def _shaped(
    export: Export, base: Iterator[dict[str, Any]], privacy: PrivacySettings
) -> Iterator[dict[str, Any]]:
    campaign, opts = export.campaign, export_options(export)
    overall = campaign.overall_attribute
    if export.shape == "raw":
        for row in base:
            yield from shapes.raw_rows(row, privacy.profile_fields)
    elif export.shape == "trl-preference":
        for row in base:
            yield from shapes.preference_rows(row, opts, overall=overall)
    elif export.shape == "trl-unpaired":
        scale = campaign.rating_range
        for row in base:
            yield from shapes.unpaired_rows(row, opts, overall=overall, scale=scale)
    elif export.shape == "ranking":
        for row in base:
            yield from shapes.ranking_rows(row, opts)
    else:
        raise ValueError(f"unknown shape {export.shape!r}")


def _base_rows(
    export: Export, privacy: PrivacySettings, on_row: Callable[[int], None] | None = None
) -> Iterator[dict[str, Any]]:
    rows = sel.export_base_rows(
        campaign=export.campaign,
        filters=export.filters,
        privacy=privacy,
        max_id=export.max_annotation_id,
        details=export.shape == "raw",
    )
    if on_row is None:
        return rows
    return _counting(rows, on_row)


def _counting(
    rows: Iterator[dict[str, Any]], on_row: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            on_row(n)
        yield row


def _prism_zip(export: Export, privacy: PrivacySettings, tally: Tally, base: Any) -> Any:
    """Zip of survey/conversations/utterances, streamed (zip data descriptors, no seek)."""
    cols = prism_columns(privacy.profile_fields)
    ext = export.format
    sink = _Drain()
    summary = prism.ConversationSummary()
    campaign = export.campaign
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        survey = export_prism.prism_survey_rows(
            campaign=campaign,
            filters=export.filters,
            privacy=privacy,
            max_id=export.max_annotation_id,
        )
        utterances = prism.utterance_rows(base, summary, overall=campaign.overall_attribute)
        members: list[tuple[str, Callable[[], Any]]] = [
            ("survey", lambda: survey),
            ("utterances", lambda: utterances),
            (
                "conversations",
                lambda: summary.rows(
                    export_prism.prism_conversations(
                        campaign=campaign, conversation_ids=set(summary.by_id)
                    )
                ),
            ),
        ]
        for name, rows in members:
            with archive.open(f"{name}.{ext}", mode="w", force_zip64=True) as member:
                for chunk in write(ext, tally.count(rows()), cols[name]):
                    member.write(chunk)
                    yield sink.take()
    yield sink.take()


def export_bytes(
    export: Export, *, tally: Tally, on_row: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The export's bytes, chunk by chunk (tally counts output rows, size and hash)."""
    privacy = privacy_settings(export.campaign.config)
    if export.shape == "prism":
        base = _base_rows(export, privacy, on_row)
        chunks: Iterator[bytes] = _prism_zip(export, privacy, tally, base)
    else:
        columns = columns_for(
            export.shape,
            conversational=bool(export.options.get("conversational")),
            profile_fields=privacy.profile_fields,
        )
        fast = sel.export_fast_reads()
        if fast and export.shape == "trl-preference" and export.format == "jsonl":
            chunks = fast_preference_jsonl(export, privacy, on_row, columns, tally)
        elif fast and export.shape in COLUMNAR_SHAPES and export.format in ("csv", "parquet"):
            batches = counted(columnar_batches(export, privacy, on_row, columns), tally)
            chunks = columnar.write_batches(export.format, batches, columns)
        else:
            rows = (
                fast_preference_rows(export, privacy, on_row)
                if fast and export.shape == "trl-preference"
                else _shaped(export, _base_rows(export, privacy, on_row), privacy)
            )
            chunks = write(export.format, tally.count(rows), columns)
    return _gc_frozen(tally.bytes(c for c in chunks if c))


def _gc_frozen(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, with the objects that existed before the export left out of the
    garbage collector's full passes while it runs.

    An export allocates millions of short-lived containers, which keeps triggering the
    collector, and each full pass walks every object the process holds (Django's models,
    URL patterns, templates...): at 1M annotations that was half the Python CPU time
    (trl-preference jsonl 27 s -> 14 s). New garbage is still collected; the frozen
    objects go back to the collector when the export ends, fails or is abandoned.
    """
    gc.freeze()
    try:
        yield from chunks
    finally:
        gc.unfreeze()


def export_finish(*, export: Export, tally: Tally, file_path: str = "") -> Export:
    export.status = ExportStatus.DONE
    export.progress = 1.0
    export.row_count = tally.rows
    export.size_bytes = tally.size
    export.sha256 = tally.sha256
    export.file_path = file_path
    export.error = ""  # a retried job that now succeeds keeps no stale reason
    export.finished_at = timezone.now()
    export.save(
        update_fields=[
            "status",
            "progress",
            "row_count",
            "size_bytes",
            "sha256",
            "file_path",
            "error",
            "finished_at",
        ]
    )
    events.send_on_commit(events.export_ready, export_id=export.pk, campaign_id=export.campaign_id)
    return export


def export_fail(*, export: Export, error: str) -> None:
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def stream_prime_bytes() -> int:
    return int(getattr(settings, "CHORUS_EXPORT_PRIME_BYTES", 4 * 1024 * 1024))


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def export_stream(*, export: Export) -> Iterator[bytes]:
    """Bytes for a streaming response; records count and checksum once fully sent.

    Runs the export here, before returning, until it has produced
    ``CHORUS_EXPORT_PRIME_BYTES`` (default 4 MiB) or finished: a failure in that part,
    which for most exports is all of it, raises here, before any status line is sent, so
    the caller can answer a real error instead of a 200 with a short body. (The failure
    that sent a 62-byte PRISM zip came after the first member's header: a generator
    that is only started by the server cannot change its status any more.) The export
    is then marked failed with the reason.

    A failure after that point cuts the stream off (the server never ends the chunked
    body, so clients report an incomplete transfer) and marks the export failed too. A
    client that disconnects midway leaves the export "running" with no checksum: the
    dataset it holds is incomplete and must not look otherwise.
    """
    tally = Tally()
    limit = stream_prime_bytes()
    head: list[bytes] = []
    size = 0
    try:
        chunks = export_bytes(export, tally=tally)
        for chunk in chunks:  # breaking out leaves the generator suspended, not closed
            head.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except Exception as exc:
        export_fail(export=export, error=_error_text(exc))
        raise
    return _export_send(export, tally, b"".join(head), chunks)


def _export_send(
    export: Export, tally: Tally, head: bytes, rest: Iterator[bytes]
) -> Iterator[bytes]:
    try:
        if head:
            yield head
        yield from rest
    except Exception as exc:  # the status line is long gone; record why the file is short
        log.exception("export %s failed while streaming", export.pk)
        export_fail(export=export, error=_error_text(exc))
        raise
    export_finish(export=export, tally=tally)


def export_run(*, export_id: int) -> Export | None:
    """Write an export to CHORUS_EXPORT_DIR (the Celery job). Safe to run twice."""
    export = Export.objects.select_related("campaign").filter(pk=export_id).first()
    if export is None or export.status == ExportStatus.DONE:
        return export
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=0.0, error="")
    tally = Tally()
    partial: Path | None = None
    # Everything after "running" is inside the try: a job that dies without saying why
    # (an unwritable folder, a query that does not resolve) must not stay "running".
    try:
        total = max(1, export_count(campaign=export.campaign, filters=export.filters))

        def progress(n: int) -> None:
            Export.objects.filter(pk=export.pk).update(progress=min(0.99, n / total))

        folder = Path(settings.CHORUS_EXPORT_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{export.pk}.{export_extension(export)}"
        partial = final.with_suffix(final.suffix + ".part")
        with open(partial, "wb") as fh:
            for chunk in export_bytes(export, tally=tally, on_row=progress):
                fh.write(chunk)
        os.replace(partial, final)  # atomic: a download never sees half a file
    except Exception as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        log.exception("export %s failed", export.pk)
        export_fail(export=export, error=_error_text(exc))
        raise
    return export_finish(export=export, tally=tally, file_path=str(final))
