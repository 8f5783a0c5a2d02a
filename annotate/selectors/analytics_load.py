"""A campaign's labels as numpy columns: no model instances, no per-label Python.

Issue 14 measured 15 us per label to load 1M labels (a 14-column tuple per label, then a
dozen list comprehensions over them). Here every column is a number computed in SQL (task
code, pairwise outcome, the two shown response ids, the gold verdict), and:

- PostgreSQL: one ``COPY (SELECT ...) TO STDOUT (FORMAT csv)``, parsed by pyarrow's CSV
  reader (C++, no Python per row) straight into arrays;
- elsewhere (SQLite, embedded mode): ``values_list`` of the raw fields, turned into the
  same columns in Python (small campaigns only live there).

Both paths return the same columns (``LABEL_COLUMNS``), ordered by (created_at, id), and
only labels with ``id > after_id`` (0: all) so incremental snapshots read only new ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection

from annotate.analytics.data import TASK_TYPES
from annotate.models import Annotation, Campaign, Item

# name -> numpy dtype; float columns use NaN for "unknown", integer columns -1.
LABEL_COLUMNS: dict[str, Any] = {
    "id": np.int64,
    "annotator": np.int64,  # Annotator pk
    "item": np.int64,
    "task": np.int64,  # index into TASK_TYPES (unknown types count as 0, as before)
    "time_ms": np.float64,
    "created": np.float64,  # epoch seconds
    "profile": np.int64,  # ProfileVersion pk, -1 when none
    "is_gold": np.int64,
    "is_attention": np.int64,
    "correct": np.int64,  # flags.gold_correct: 1 true, 0 false, -1 absent
    "choice": np.int64,  # pairwise: +1 A, 0 tie, -1 B, 9 none
    "shown_a": np.int64,  # pairwise: response ids in shown order, -1 when absent
    "shown_b": np.int64,
    "strength": np.float64,
}
_CHOICE = {"A": 1, "tie": 0, "B": -1}
NO_CHOICE = 9

_TASK_SQL = " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TASK_TYPES))
_JSON_INT = (
    "CASE WHEN jsonb_typeof({e}) = 'number' THEN ({e})::text::numeric::int8 "
    "WHEN jsonb_typeof({e}) = 'string' AND ({e}) #>> '{{}}' ~ '^-?[0-9]+$' "
    "THEN (({e}) #>> '{{}}')::int8 END"
)
# Table names come from the models; the only parameters are the campaign and the id bound.
# Human labels only: this SQL bypasses Annotation.objects, which leaves judges' labels out.
_LABELS_SQL = f"""
SELECT a.id, a.annotator_id, a.item_id,
  CASE a.task_type {_TASK_SQL} ELSE 0 END,
  a.time_spent_ms,
  extract(epoch FROM a.created_at)::float8,
  a.profile_version_id,
  i.is_gold::int, i.is_attention_check::int,
  CASE WHEN a.flags -> 'gold_correct' IS NULL
         OR jsonb_typeof(a.flags -> 'gold_correct') = 'null' THEN -1
       WHEN lower(a.flags ->> 'gold_correct') IN ('true', '1') THEN 1 ELSE 0 END,
  CASE a.payload ->> 'choice' WHEN 'A' THEN 1 WHEN 'tie' THEN 0 WHEN 'B' THEN -1
       ELSE {NO_CHOICE} END,
  {_JSON_INT.format(e="a.payload -> 'response_ids' -> 0")},
  {_JSON_INT.format(e="a.payload -> 'response_ids' -> 1")},
  CASE WHEN jsonb_typeof(a.payload -> 'strength') = 'number'
       THEN (a.payload ->> 'strength')::float8 END
FROM {Annotation._meta.db_table} a
JOIN {Item._meta.db_table} i ON i.id = a.item_id
WHERE a.campaign_id = %s AND a.id > %s AND a.source = 'human'
"""  # no ORDER BY: PostgreSQL's sort of 1M rows spilled to disk; numpy sorts in 0.1 s


def _empty() -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in LABEL_COLUMNS.items()}


def _columns_copy(campaign: Campaign, after_id: int) -> dict[str, np.ndarray]:
    buf = bytearray()
    with connection.cursor() as cursor:
        # psycopg binds COPY parameters client-side; both are integers.
        sql = f"COPY ({_LABELS_SQL}) TO STDOUT (FORMAT csv)"
        with cursor.cursor.copy(sql, [int(campaign.pk), int(after_id)]) as copy:
            for block in copy:
                buf += block
    if not buf:
        return _empty()
    names = list(LABEL_COLUMNS)
    # Zero-copy view of the COPY output; the table is converted column by column and
    # dropped as it goes, so the peak is about the CSV text plus one set of arrays.
    table = pa_csv.read_csv(
        pa.BufferReader(pa.py_buffer(buf)),
        read_options=pa_csv.ReadOptions(column_names=names),
        convert_options=pa_csv.ConvertOptions(
            column_types={
                n: pa.float64() if d is np.float64 else pa.int64() for n, d in LABEL_COLUMNS.items()
            },
            null_values=[""],
        ),
    )
    del buf
    out = {}
    for name, dtype in LABEL_COLUMNS.items():
        col = table.column(name)
        table = table.drop_columns([name])
        fill = float("nan") if dtype is np.float64 else -1
        out[name] = col.fill_null(fill).to_numpy().astype(dtype, copy=False)
        del col
    del table
    pa.default_memory_pool().release_unused()  # pyarrow's allocator keeps freed blocks
    order = np.lexsort((out["id"], out["created"]))  # (created_at, id), as the ORM path
    for name in out:
        out[name] = out[name][order]
    return out


def _json_int(value: Any) -> int:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else -1
    except (TypeError, ValueError):
        return -1


def _columns_orm(campaign: Campaign, after_id: int) -> dict[str, np.ndarray]:
    rows = (
        Annotation.objects.filter(campaign=campaign, id__gt=after_id)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "annotator_id",
            "item_id",
            "task_type",
            "time_spent_ms",
            "created_at",
            "profile_version_id",
            "item__is_gold",
            "item__is_attention_check",
            "flags",
            "payload",
        )
    )
    cols: dict[str, list[Any]] = {name: [] for name in LABEL_COLUMNS}
    for pk, ann, item, task, ms, created, profile, gold, attention, flags, payload in rows:
        flags = flags if isinstance(flags, dict) else {}
        payload = payload if isinstance(payload, dict) else {}
        correct = flags.get("gold_correct")
        shown = payload.get("response_ids")
        shown = shown if isinstance(shown, list) else []
        strength = payload.get("strength")
        cols["id"].append(pk)
        cols["annotator"].append(ann)
        cols["item"].append(item)
        cols["task"].append(TASK_TYPES.index(task) if task in TASK_TYPES else 0)
        cols["time_ms"].append(np.nan if ms is None else ms)
        cols["created"].append(created.timestamp())
        cols["profile"].append(-1 if profile is None else profile)
        cols["is_gold"].append(int(gold))
        cols["is_attention"].append(int(attention))
        cols["correct"].append(
            -1 if correct is None else int(str(correct).lower() in ("true", "1"))
        )
        choice = payload.get("choice")
        cols["choice"].append(
            _CHOICE.get(choice, NO_CHOICE) if isinstance(choice, str) else NO_CHOICE
        )
        cols["shown_a"].append(_json_int(shown[0]) if len(shown) > 0 else -1)
        cols["shown_b"].append(_json_int(shown[1]) if len(shown) > 1 else -1)
        number = isinstance(strength, int | float) and not isinstance(strength, bool)
        cols["strength"].append(float(strength) if number else np.nan)  # type: ignore[arg-type]
    return {name: np.array(cols[name], dtype=dtype) for name, dtype in LABEL_COLUMNS.items()}


def label_columns(
    *, campaign: Campaign, after_id: int = 0, fast: bool | None = None
) -> dict[str, np.ndarray]:
    """The campaign's labels with ``id > after_id`` as ``LABEL_COLUMNS`` arrays (one query).

    ``fast`` (default: on PostgreSQL) reads with COPY; the columns are the same either way.
    """
    fast = connection.vendor == "postgresql" if fast is None else fast
    return _columns_copy(campaign, after_id) if fast else _columns_orm(campaign, after_id)
