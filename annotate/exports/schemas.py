"""The documented column layout of every export shape (also the Parquet schema).

``columns_for(shape, conversational=..., profile_fields=...)`` is the single source: the
writers, the API docs and the tests read it. Message columns are
``list<struct<role: string, content: string>>`` in the conversational variant and plain
strings otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from .privacy import LIST_FIELDS, NUMERIC_FIELDS
from .writers import Column

SHAPES = ("raw", "trl-preference", "trl-unpaired", "ranking", "prism")

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
MESSAGES = pa.list_(MESSAGE)
RESPONSE = pa.struct(
    [
        ("id", pa.int64()),
        ("position", pa.int64()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("model", pa.string()),
    ]
)
RANKED = pa.struct(
    [
        ("response_id", pa.int64()),
        ("rank", pa.int64()),
        ("text", pa.string()),
        ("model", pa.string()),
    ]
)


# Issue 16: who gave the label: "human" or "ai" (then the judge's name and prompt version).
SOURCE_COLUMNS = [
    Column("source", pa.string()),
    Column("judge", pa.string()),
    Column("judge_prompt_version", pa.int64()),
]
# The derived shapes already use ``source`` for the label type (pairwise, rating, ...).
LABEL_SOURCE_COLUMNS = [Column("label_source", pa.string()), *SOURCE_COLUMNS[1:]]


def profile_columns(profile_fields: Sequence[str], prefix: str = "profile_") -> list[Column]:
    cols = []
    for f in profile_fields:
        if f in LIST_FIELDS:
            cols.append(Column(prefix + f, pa.list_(pa.string())))
        elif f in NUMERIC_FIELDS:
            cols.append(Column(prefix + f, pa.int64()))
        else:
            cols.append(Column(prefix + f, pa.string()))
    return cols


def columns_for(
    shape: str, *, conversational: bool = False, profile_fields: Sequence[str] = ()
) -> list[Column]:
    text_or_messages = MESSAGES if conversational else pa.string()
    if shape == "raw":
        return [
            Column("annotation_id", pa.int64()),
            Column("campaign", pa.string()),
            Column("item_id", pa.int64()),
            Column("task_type", pa.string()),
            Column("annotator_id", pa.string()),
            *SOURCE_COLUMNS,
            Column("created_at", pa.timestamp("us", tz="UTC")),
            Column("time_spent_ms", pa.int64()),
            Column("guideline_version", pa.int64()),
            Column("profile_version", pa.int64()),
            Column("prompt", pa.string()),
            Column("messages", MESSAGES),
            Column("responses", pa.list_(RESPONSE)),
            Column("presented_order", pa.list_(pa.int64())),
            Column("payload", pa.string(), json=True),
            Column("flags", pa.string(), json=True),
            *profile_columns(profile_fields),
        ]
    if shape == "trl-preference":
        return [
            Column("prompt", text_or_messages),
            Column("chosen", text_or_messages),
            Column("rejected", text_or_messages),
            Column("annotator_id", pa.string()),
            Column("margin", pa.float64()),
            Column("source", pa.string()),
            Column("annotation_id", pa.int64()),
            Column("item_id", pa.int64()),
            Column("chosen_response_id", pa.int64()),
            Column("rejected_response_id", pa.int64()),
            Column("chosen_model", pa.string()),
            Column("rejected_model", pa.string()),
            Column("guideline_version", pa.int64()),
            *LABEL_SOURCE_COLUMNS,
        ]
    if shape == "trl-unpaired":
        return [
            Column("prompt", text_or_messages),
            Column("completion", text_or_messages),
            Column("label", pa.bool_()),
            Column("rating", pa.float64()),
            Column("attribute", pa.string()),
            Column("annotator_id", pa.string()),
            Column("annotation_id", pa.int64()),
            Column("item_id", pa.int64()),
            Column("response_id", pa.int64()),
            Column("model", pa.string()),
            *LABEL_SOURCE_COLUMNS,
        ]
    if shape == "ranking":
        return [
            Column("prompt", text_or_messages),
            Column("responses", pa.list_(RANKED)),
            Column("ranking", pa.list_(pa.list_(pa.int64()))),
            Column("annotator_id", pa.string()),
            Column("annotation_id", pa.int64()),
            Column("item_id", pa.int64()),
            Column("guideline_version", pa.int64()),
            *LABEL_SOURCE_COLUMNS,
        ]
    raise ValueError(f"unknown shape {shape!r}")


def prism_columns(profile_fields: Sequence[str]) -> dict[str, list[Column]]:
    """The three files of the PRISM-style release (survey, conversations, utterances)."""
    return {
        "survey": [
            Column("annotator_id", pa.string()),
            Column("profile_version", pa.int64()),
            *profile_columns(profile_fields, prefix=""),
        ],
        "conversations": [
            Column("conversation_id", pa.int64()),
            Column("annotator_id", pa.string()),
            Column("source", pa.string()),
            Column("opening_prompt", pa.string()),
            Column("conversation_history", MESSAGES),
            Column("n_utterances", pa.int64()),
            Column("attributes", pa.string(), json=True),
            Column("feedback", pa.string()),
        ],
        "utterances": [
            Column("utterance_id", pa.string()),
            Column("conversation_id", pa.int64()),
            Column("annotation_id", pa.int64()),
            Column("annotator_id", pa.string()),
            Column("turn", pa.int64()),
            Column("task_type", pa.string()),
            Column("user_prompt", pa.string()),
            Column("response_id", pa.int64()),
            Column("model", pa.string()),
            Column("model_response", pa.string()),
            Column("score", pa.float64()),
            Column("chosen", pa.bool_()),
        ],
    }
