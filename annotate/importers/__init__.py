"""Pure parsers for item imports (no Django). ``manage.py import_items`` orchestrates."""

from __future__ import annotations

from functools import partial

from annotate.input.language import UNDETERMINED

from . import hh_rlhf, jsonl
from .base import BadRow, ParsedResponse, ParsedRow, RecordParser, RowError, read_rows

FORMATS = (hh_rlhf.FORMAT, jsonl.FORMAT)


def parser_for(
    fmt: str, *, file_name: str = "", task_type: str | None = None, language: str = UNDETERMINED
) -> RecordParser:
    """The record parser for ``fmt``; ``task_type`` only applies to the generic format.
    ``language``: the (checked) tag of rows that give none."""
    if fmt == hh_rlhf.FORMAT:
        return partial(hh_rlhf.parse_record, file_name=file_name, language=language)
    if fmt == jsonl.FORMAT:
        return partial(
            jsonl.parse_record, file_name=file_name, task_type=task_type, language=language
        )
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "BadRow",
    "ParsedResponse",
    "ParsedRow",
    "RecordParser",
    "RowError",
    "parser_for",
    "read_rows",
]
