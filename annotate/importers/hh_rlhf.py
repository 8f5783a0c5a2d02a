"""Anthropic HH-RLHF rows: ``{"chosen": transcript, "rejected": transcript}``.

A transcript is a run of ``\\n\\nHuman: ...`` and ``\\n\\nAssistant: ...`` turns. The two
transcripts of a row share every turn up to the last Human turn; what follows it is the
assistant reply each one ends with. One row becomes one pairwise item:

- the prompt is every turn up to and including the last Human turn, as chat messages
  (texts stripped of the separator's surrounding whitespace);
- the responses are the two final replies, sources ``hh-rlhf:chosen`` and
  ``hh-rlhf:rejected``. A reply is everything after the last Human turn's answer marker,
  kept verbatim (the data has a few replies that themselves contain an
  ``Assistant:`` marker; cutting them would change what the labeller judged);
- which reply sits at canonical position 0 is decided by a hash of the row's content, so
  re-imports give the same layout and about half the items have the chosen reply first
  (annotators see a freshly shuffled order either way);
- the original preference is kept as ``metadata["reference_preference"]`` on the item and
  ``metadata["reference_label"]`` on each response, for gold checks and exports.

A row may carry ``language`` (a BCP 47 tag, as in the generic format); without it the
command's ``--language`` applies, and without that ``und``.

An empty reply is kept: in the harmless split a labeller sometimes preferred the
assistant saying nothing to a harmful answer, and that is the preference to learn.
"""

from __future__ import annotations

import re
from typing import Any

from annotate.input.language import UNDETERMINED

from .base import ParsedResponse, ParsedRow, RowError, content_hash, row_language

FORMAT = "hh-rlhf"
_MARKER = re.compile(r"\n\n(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def split_transcript(text: str) -> tuple[list[dict[str, str]], str]:
    """(prompt messages ending with the last Human turn, final assistant reply)."""
    if text.startswith(("Human:", "Assistant:")):
        text = "\n\n" + text  # some copies drop the leading blank line
    markers = list(_MARKER.finditer(text))
    if not markers or markers[0].start() != 0:
        raise RowError("does not start with a '\\n\\nHuman:' turn")
    human = [n for n, m in enumerate(markers) if m.group(1) == "Human"]
    if not human:
        raise RowError("has no Human turn")
    last_human = human[-1]
    if last_human == len(markers) - 1:
        raise RowError("ends with a Human turn, not an Assistant reply")
    reply_marker = markers[last_human + 1]
    messages = []
    for n, marker in enumerate(markers[: last_human + 1]):
        end = markers[n + 1].start()
        content = text[marker.end() : end].strip()
        if not content:
            raise RowError(f"turn {n + 1} ({marker.group(1)}) is empty")
        messages.append({"role": _ROLES[marker.group(1)], "content": content})
    return messages, text[reply_marker.end() :].strip()


def _transcript(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise RowError(f"missing field {key!r} (a transcript string)")
    if not value.strip():
        raise RowError(f"field {key!r} is empty")
    return value


def parse_record(
    record: Any, line: int, *, file_name: str = "", language: str = UNDETERMINED
) -> ParsedRow:
    if not isinstance(record, dict):
        raise RowError("expected a JSON object with 'chosen' and 'rejected'")
    chosen_raw, rejected_raw = _transcript(record, "chosen"), _transcript(record, "rejected")
    try:
        prompt, chosen = split_transcript(chosen_raw)
    except RowError as exc:
        raise RowError(f"'chosen' transcript {exc}") from None
    try:
        prompt_rejected, rejected = split_transcript(rejected_raw)
    except RowError as exc:
        raise RowError(f"'rejected' transcript {exc}") from None
    if prompt != prompt_rejected:
        turn = next(
            (n for n, (a, b) in enumerate(zip(prompt, prompt_rejected, strict=False)) if a != b),
            min(len(prompt), len(prompt_rejected)),
        )
        raise RowError(f"'chosen' and 'rejected' differ before the final reply (turn {turn + 1})")
    if chosen == rejected:
        raise RowError("'chosen' and 'rejected' end with the same reply")
    digest = content_hash(chosen_raw, rejected_raw)
    chosen_position = int(digest[-1], 16) % 2
    labelled = [
        ParsedResponse(chosen, f"{FORMAT}:chosen", {"reference_label": "chosen"}),
        ParsedResponse(rejected, f"{FORMAT}:rejected", {"reference_label": "rejected"}),
    ]
    responses = labelled if chosen_position == 0 else labelled[::-1]
    metadata = {
        "import": {"format": FORMAT, "file": file_name, "line": line},
        "reference_preference": {
            "source": FORMAT,
            "chosen_position": chosen_position,
            "rejected_position": 1 - chosen_position,
        },
    }
    return ParsedRow(
        line=line,
        task_type="pairwise",
        messages=prompt,
        responses=responses,
        external_id=f"{FORMAT}:{digest[:32]}",
        source=f"import:{FORMAT}",
        metadata=metadata,
        allow_empty_responses=True,
        language=row_language(record, language),
    )
