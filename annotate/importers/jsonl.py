"""Chorus's generic JSONL: one item per line.

Each line is a JSON object::

    {"id": "q-17",                                   # optional, str or int (<= 200 chars)
     "prompt": "How do tides work?",                  # str, or a list of messages:
     #   [{"role": "system"|"user"|"assistant", "content": str}, ...] ending with "user"
     "responses": ["text", {"text": "...", "source": "vendor-x", "model": "m-7b",
                            "metadata": {...}, "generation_params": {...}}],
     "task_type": "pairwise",                         # optional, see below
     "language": "fr",                                # optional BCP 47 tag
     "metadata": {...}}                               # optional object

- ``task_type`` is one of pairwise, ranking, rating, edit, critique, bws (best-worst
  scaling: K >= 3 responses). Without it the
  command's ``--task-type`` applies, and without that: pairwise for exactly two
  responses, rating otherwise.
- A response's ``source`` (<= 80 chars) says where it came from; ``model`` alone is used
  as the source too and is kept in the response metadata. Default source: ``jsonl``.
- ``id`` becomes the prompt's and conversation's ``external_id`` (a re-import skips ids
  already in the campaign); without it a hash of the prompt and responses is used.
- ``language`` (BCP 47: ``en``, ``fr``, ``pt-BR``, ``zh-Hans``) is the prompt's, the
  item's and its responses' language; a response object may give its own. Without it
  the command's ``--language`` applies, and without that ``und`` (undetermined). Tags are
  stored in lower case; a malformed tag rejects the line.
- The item's metadata is the line's ``metadata`` plus ``import`` (format, file, line).
- Unknown keys are ignored. Empty prompts or responses are errors.
"""

from __future__ import annotations

import json
from typing import Any

from annotate.input.language import UNDETERMINED

from .base import (
    MAX_EXTERNAL_ID,
    MAX_SOURCE,
    ParsedResponse,
    ParsedRow,
    RowError,
    content_hash,
    row_language,
)

FORMAT = "jsonl"
TASK_TYPES = ("pairwise", "ranking", "rating", "edit", "critique", "bws")
ROLES = ("system", "user", "assistant")


def default_task_type(n_responses: int) -> str:
    return "pairwise" if n_responses == 2 else "rating"


def _messages(prompt: Any) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise RowError("'prompt' is empty")
        return [{"role": "user", "content": prompt}]
    if not isinstance(prompt, list) or not prompt:
        raise RowError("'prompt' must be a string or a non-empty list of messages")
    messages = []
    for n, message in enumerate(prompt, start=1):
        if not isinstance(message, dict):
            raise RowError(f"prompt message {n} must be an object with 'role' and 'content'")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise RowError(f"prompt message {n}: role must be one of {', '.join(ROLES)}")
        if not isinstance(content, str) or not content.strip():
            raise RowError(f"prompt message {n}: 'content' must be non-empty text")
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "user":
        raise RowError("the prompt's last message must have role 'user'")
    return messages


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RowError(f"{what} must be a JSON object")
    return value


def _response(value: Any, n: int) -> ParsedResponse:
    if isinstance(value, str):
        value = {"text": value}
    if not isinstance(value, dict):
        raise RowError(f"response {n} must be a string or an object with 'text'")
    text = value.get("text")
    if not isinstance(text, str):
        raise RowError(f"response {n} has no 'text'")
    if not text.strip():
        raise RowError(f"response {n} is empty")
    metadata = dict(_object(value.get("metadata"), f"response {n} 'metadata'"))
    params = _object(value.get("generation_params"), f"response {n} 'generation_params'")
    model, source = value.get("model"), value.get("source")
    for key, field_value in (("model", model), ("source", source)):
        if field_value is not None and not isinstance(field_value, str):
            raise RowError(f"response {n} '{key}' must be text")
    if model:
        metadata["model"] = model
    source = source or model or FORMAT
    if len(source) > MAX_SOURCE:
        raise RowError(f"response {n} source is longer than {MAX_SOURCE} characters")
    try:
        language = row_language(value, "") or None  # None: the line's language
    except RowError as exc:
        raise RowError(f"response {n} {exc}") from None
    return ParsedResponse(text, source, metadata, dict(params), language)


def parse_record(
    record: Any,
    line: int,
    *,
    file_name: str = "",
    task_type: str | None = None,
    language: str = UNDETERMINED,
) -> ParsedRow:
    """``task_type`` and ``language`` are the command's ``--task-type`` and
    ``--language``: used when a line names none."""
    if not isinstance(record, dict):
        raise RowError("expected a JSON object with 'prompt' and 'responses'")
    if "prompt" not in record:
        raise RowError("missing field 'prompt'")
    messages = _messages(record["prompt"])
    raw_responses = record.get("responses")
    if not isinstance(raw_responses, list) or not raw_responses:
        raise RowError("'responses' must be a non-empty list")
    responses = [_response(r, n) for n, r in enumerate(raw_responses, start=1)]
    kind = record.get("task_type") or task_type or default_task_type(len(responses))
    if kind not in TASK_TYPES:
        raise RowError(f"task_type must be one of {', '.join(TASK_TYPES)}, got {kind!r}")
    metadata = dict(_object(record.get("metadata"), "'metadata'"))
    metadata["import"] = {"format": FORMAT, "file": file_name, "line": line}
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        canonical = json.dumps([messages, [r.text for r in responses]], sort_keys=True)
        external_id = f"{FORMAT}:{content_hash(canonical)[:32]}"
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        external_id = str(raw_id)
        if len(external_id) > MAX_EXTERNAL_ID:
            raise RowError(f"'id' is longer than {MAX_EXTERNAL_ID} characters")
    else:
        raise RowError("'id' must be a string or an integer")
    return ParsedRow(
        line=line,
        task_type=kind,
        messages=messages,
        responses=responses,
        external_id=external_id,
        source=f"import:{FORMAT}",
        metadata=metadata,
        language=row_language(record, language),
    )
