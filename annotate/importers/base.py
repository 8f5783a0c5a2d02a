"""What every importer shares: reading lines (gzip or plain), parsed rows, bad rows.

Pure Python, no Django: a row parser turns one decoded JSON record into a ``ParsedRow``
or raises ``RowError`` with a sentence a person can act on; ``read_rows`` adds line
numbers, JSON and UTF-8 decoding, blank-line skipping, duplicate detection and ``limit``.
The management command turns rows into ``ItemSpec`` values and writes them.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from annotate.input.checks import InputError, loads_json
from annotate.input.language import UNDETERMINED, language_tag_or_default

GZIP_MAGIC = b"\x1f\x8b"
MAX_EXTERNAL_ID = 200  # Prompt.external_id / Conversation.external_id max_length
MAX_SOURCE = 80  # Response.source max_length


class RowError(ValueError):
    """One input row is unusable; the message says why."""


@dataclass(frozen=True)
class ParsedResponse:
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    generation_params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # None: the row's language


@dataclass(frozen=True)
class ParsedRow:
    """One future item: the chat so far (ending with a user message) and its responses."""

    line: int
    task_type: str
    messages: list[dict[str, str]]
    responses: list[ParsedResponse]
    external_id: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # HH-RLHF keeps an empty reply: a labeller preferring silence is a real preference.
    allow_empty_responses: bool = False
    language: str = UNDETERMINED  # BCP 47, normalised (annotate/input/language.py)


def row_language(record: dict[str, Any], default: str, *, key: str = "language") -> str:
    """A record's optional ``language`` (a BCP 47 tag), else ``default`` (the command's
    ``--language``, already checked). A bad tag is a RowError naming the field."""
    try:
        return language_tag_or_default(record.get(key), default=default, field=f"'{key}'")
    except InputError as exc:
        raise RowError(f"{exc.field}: {exc.message[0].lower()}{exc.message[1:]}") from None


@dataclass(frozen=True)
class BadRow:
    line: int
    error: str


RecordParser = Callable[[Any, int], ParsedRow]


def is_gzip(path: Path) -> bool:
    """Decide by the magic bytes, not the file name (``.jsonl`` may well be gzipped)."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def content_hash(*parts: str) -> str:
    """Stable id of a row's content, independent of file, line and compression."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


# One line of an import is one record: far below the API's body limit, far above a row.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_RECORD_DEPTH = 16


def read_rows(
    path: Path, parse: RecordParser, *, limit: int | None = None
) -> Iterator[ParsedRow | BadRow]:
    """Yield one ParsedRow or BadRow per non-blank line, in file order.

    ``limit`` counts non-blank lines. A row whose ``external_id`` repeats an earlier row's
    is bad: importing it would create the same item twice. I/O errors (missing file,
    corrupt gzip stream) propagate as OSError/EOFError for the caller to report.
    """
    seen: dict[str, int] = {}
    n_rows = 0
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if limit is not None and n_rows >= limit:
                return
            n_rows += 1
            try:
                # utf-8-sig: editors on Windows start files with a byte-order mark.
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield BadRow(number, f"not valid UTF-8 (byte {exc.start})")
                continue
            try:
                # The input boundary's JSON rules: depth (a deep line was a RecursionError),
                # finite numbers, 64-bit integers, no NUL or unpaired surrogate anywhere.
                record = loads_json(
                    text, field="", max_depth=MAX_RECORD_DEPTH, max_bytes=MAX_LINE_BYTES
                )
            except InputError as exc:
                where = f"{exc.field}: " if exc.field else ""
                yield BadRow(number, f"{where}{exc.message[0].lower()}{exc.message[1:]}")
                continue
            try:
                row = parse(record, number)
            except RowError as exc:
                yield BadRow(number, str(exc))
                continue
            first = seen.get(row.external_id)
            if first is not None:
                yield BadRow(number, f"duplicate of line {first} (id {row.external_id!r})")
                continue
            seen[row.external_id] = number
            yield row
