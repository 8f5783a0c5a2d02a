"""A campaign's labels as numpy columns: no model instances, no per-label Python.

Issue 14 measured 15 us per label to load 1M labels (a 14-column tuple per label, then a
dozen list comprehensions over them), then 8-15 s with a CSV COPY whose time went to
PostgreSQL's JSON operators. Now every value analytics needs is a plain column
(annotate.models.label_values fills them when a label is written), and:

- PostgreSQL: each label's fields, none ever NULL (COALESCE to a sentinel), are turned
  into their binary form (``int8send`` & co) and concatenated, and ``string_agg`` packs
  4,096 labels into one bytea row; a row *is* a numpy structured array (big-endian): no
  parsing at all, only a byte swap per column. A binary COPY of one label per row did
  the same with a message per label, and reading 1M messages cost ~1 s of Python; the
  packed rows cost PostgreSQL more (1.25 s against 0.7 s at 1M), so the id range is
  read in two halves on two connections at once;
- elsewhere (SQLite, embedded mode): ``values_list`` of the same columns, turned into
  the same arrays in Python (small campaigns only live there).

Both paths return the same columns (``LABEL_COLUMNS``), ordered by (created_at, id), and
only labels with ``id > after_id`` (0: all) so incremental snapshots read only new ones.
Small codes use small integer types: at 1M labels each int64 column is 8 MB. Item flags
(gold, attention check) are not here: items are few, the caller maps them onto labels.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Case, CharField, F, Max, Min, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import MD5, Cast, Concat

from annotate.analytics.data import TASK_TYPES
from annotate.models import Annotation, Campaign, ItemResponse, Response
from annotate.selectors import export_rows
from annotate.selectors.binary_copy import copy_blobs
from annotate.selectors.read_ahead import in_background

# name -> numpy dtype; float columns use NaN for "unknown", integer columns -1.
LABEL_COLUMNS: dict[str, Any] = {
    "id": np.int64,
    "annotator": np.int64,  # Annotator pk
    "item": np.int64,
    "task": np.int8,  # index into TASK_TYPES (unknown types count as 0, as before)
    "time_ms": np.float64,
    "created": np.float64,  # epoch seconds
    "profile": np.int64,  # ProfileVersion pk, -1 when none
    "correct": np.int8,  # Annotation.gold_correct: 1 true, 0 false, -1 unknown
    "choice": np.int8,  # Annotation.choice: +1 A, 0 tie, -1 B, 9 none
    "shown_a": np.int64,  # Annotation.shown_a/shown_b: -1 when absent
    "shown_b": np.int64,
    "strength": np.float64,
}
NO_CHOICE = 9

_TASK_SQL = " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TASK_TYPES))
# (select expression, big-endian numpy kind) per column, in LABEL_COLUMNS order. Nothing
# is NULL, so every label has the same width (COALESCE to the sentinels above).
_COPY_FIELDS = [
    ("a.id", ">i8"),
    ("a.annotator_id", ">i8"),
    ("a.item_id", ">i8"),
    (f"(CASE a.task_type {_TASK_SQL} ELSE 0 END)::int2", ">i2"),
    ("COALESCE(a.time_spent_ms, -1)::int4", ">i4"),
    ("a.created_at", ">i8"),  # timestamptz: microseconds since 2000-01-01 UTC
    ("COALESCE(a.profile_version_id, -1)::int8", ">i8"),
    ("(CASE a.gold_correct WHEN true THEN 1 WHEN false THEN 0 ELSE -1 END)::int2", ">i2"),
    (f"COALESCE(a.choice, {NO_CHOICE})::int2", ">i2"),
    ("COALESCE(a.shown_a, -1)::int8", ">i8"),
    ("COALESCE(a.shown_b, -1)::int8", ">i8"),
    ("COALESCE(a.strength, 'NaN')::float8", ">f8"),
]
_EPOCH_2000_US = 946_684_800_000_000  # PostgreSQL's timestamp epoch, in Unix microseconds
_MALLOC_TRIM: Any
try:
    _MALLOC_TRIM = ctypes.CDLL(None).malloc_trim  # glibc; absent on macOS and musl
except (AttributeError, OSError, TypeError):
    _MALLOC_TRIM = None


def _empty() -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in LABEL_COLUMNS.items()}


def _convert(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Native-endian ``LABEL_COLUMNS`` arrays from a block of packed labels."""
    out: dict[str, np.ndarray] = {}
    for name, dtype in LABEL_COLUMNS.items():
        col = rows[name]
        if name == "time_ms":
            out[name] = np.where(col >= 0, col, np.nan)
        elif name == "created":
            out[name] = (col.astype(np.int64) + _EPOCH_2000_US) / 1e6
        else:
            out[name] = col.astype(dtype)
    return out


# Labels per packed row: PostgreSQL sends one message per row, and reading a message
# costs the client about 1 us of Python, so labels travel 4,096 to a row instead.
_PACK = 4096
# One label's bytes in a packed row: its fields back to back, big-endian, no headers.
_PACKED_LABEL = np.dtype(
    [(name, kind) for name, (_sql, kind) in zip(LABEL_COLUMNS, _COPY_FIELDS, strict=True)]
)
_SEND = {">i8": "int8send", ">i4": "int4send", ">i2": "int2send", ">f8": "float8send"}
# Each label's fields as bytes (int8send & co; the timestamp's own binary form is its
# microseconds since 2000), concatenated, then _PACK labels to a row by string_agg.
# Table names come from the models; the parameters are the campaign and the id bounds.
_PACKED_SQL = f"""
SELECT string_agg({
    " || ".join(
        f"timestamptz_send({sql})" if sql == "a.created_at" else f"{_SEND[kind]}({sql})"
        for sql, kind in _COPY_FIELDS
    )
}, ''::bytea)
FROM {Annotation._meta.db_table} a
WHERE a.campaign_id = %s AND a.id > %s AND a.id <= %s AND a.source = 'human'
GROUP BY a.id / {_PACK}
"""


def _packed_part(campaign_id: int, low: int, high: int) -> list[dict[str, np.ndarray]]:
    """The labels with ``low < id <= high``, as ``_convert``ed blocks (one query)."""
    parts = []
    # The rows stream (COPY): a plain query's result would be held whole, twice over.
    # wrap_database_errors: psycopg's errors raised as Django's, as every other query's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        for blob in copy_blobs(cursor.cursor, _PACKED_SQL, [campaign_id, low, high]):
            if len(blob) % _PACKED_LABEL.itemsize:
                raise ValueError("unexpected packed label size")
            parts.append(_convert(np.frombuffer(blob, dtype=_PACKED_LABEL)))
    return parts


def _columns_copy(campaign_id: int, after_id: int) -> dict[str, np.ndarray]:
    """PostgreSQL: labels packed _PACK to a row, read as numpy blocks. The id range is
    split in two and the upper half read on a second connection at the same time
    (annotate.selectors.read_ahead.in_background): PostgreSQL packs on both cores."""
    high = Annotation.all_sources.aggregate(m=Max("id"))["m"] or 0
    middle = after_id + (high - after_id) // 2
    upper = in_background(partial(_packed_part, campaign_id, middle, high))
    parts = _packed_part(campaign_id, after_id, middle) + upper()
    if not parts:
        return _empty()
    out = {}
    for name in LABEL_COLUMNS:
        out[name] = np.concatenate([p.pop(name) for p in parts])
    order = np.lexsort((out["id"], out["created"]))  # (created_at, id), as the ORM path
    for name in out:
        out[name] = out[name][order]
    return out


def _columns_orm(campaign_id: int, after_id: int) -> dict[str, np.ndarray]:
    rows = (
        Annotation.objects.filter(campaign_id=campaign_id, id__gt=after_id)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "annotator_id",
            "item_id",
            "task_type",
            "time_spent_ms",
            "created_at",
            "profile_version_id",
            "gold_correct",
            "choice",
            "shown_a",
            "shown_b",
            "strength",
        )
    )
    cols: dict[str, list[Any]] = {name: [] for name in LABEL_COLUMNS}
    for row in rows:
        pk, ann, item, task, ms, created, profile = row[:7]
        correct, choice, shown_a, shown_b, strength = row[7:]
        cols["id"].append(pk)
        cols["annotator"].append(ann)
        cols["item"].append(item)
        cols["task"].append(TASK_TYPES.index(task) if task in TASK_TYPES else 0)
        cols["time_ms"].append(np.nan if ms is None else ms)
        cols["created"].append(created.timestamp())
        cols["profile"].append(-1 if profile is None else profile)
        cols["correct"].append(-1 if correct is None else int(correct))
        cols["choice"].append(NO_CHOICE if choice is None else choice)
        cols["shown_a"].append(-1 if shown_a is None else shown_a)
        cols["shown_b"].append(-1 if shown_b is None else shown_b)
        cols["strength"].append(np.nan if strength is None else strength)
    return {name: np.array(cols[name], dtype=dtype) for name, dtype in LABEL_COLUMNS.items()}


def label_columns(
    *, campaign: Campaign, after_id: int = 0, fast: bool | None = None
) -> dict[str, np.ndarray]:
    """The campaign's labels with ``id > after_id`` as ``LABEL_COLUMNS`` arrays.

    ``fast`` (default: on PostgreSQL) reads packed binary rows (two queries, on two
    connections outside a transaction); the columns are the same either way.
    """
    fast = connection.vendor == "postgresql" if fast is None else fast
    read = _columns_copy if fast else _columns_orm
    return read(int(campaign.pk), after_id)


def _model_label() -> Case:
    """A response's model name: the endpoint's, else "policy v<version>", else its
    source, else "unknown"."""
    return Case(
        When(endpoint__name__gt="", then=F("endpoint__name")),
        When(
            policy_version__isnull=False,
            then=Concat(Value("policy v"), Cast("policy_version__version", CharField())),
        ),
        When(source__gt="", then=F("source")),
        default=Value("unknown"),
        output_field=CharField(),
    )


# The md5 of a response's text as two integers (its two 64-bit halves).
_MD5_HALF = "('x' || substr(md5({table}.{text}), {start}, 16))::bit(64)::bigint"


@dataclass
class ResponseFacts:
    """What analytics needs of a campaign's responses, by id: prompt, text hash, model."""

    ids: np.ndarray
    prompt: np.ndarray
    md5_hi: np.ndarray
    md5_lo: np.ndarray
    model: list[str]


def campaign_response_facts(campaign_id: int) -> ResponseFacts:
    """Every response of the campaign's items (one query, no sort or window), so it can
    be read before the labels say which of them are needed, alongside them
    (annotate.selectors.read_ahead.in_background). PostgreSQL only."""
    qn = connection.ops.quote_name
    table, text = qn(Response._meta.db_table), qn("text")
    used = ItemResponse.objects.filter(item__campaign_id=campaign_id).values("response_id")
    rows = (
        Response.objects.filter(id__in=used)
        .annotate(
            model=_model_label(),
            md5_hi=RawSQL(_MD5_HALF.format(table=table, text=text, start=1), ()),
            md5_lo=RawSQL(_MD5_HALF.format(table=table, text=text, start=17), ()),
        )
        .values_list("id", "prompt_id", "md5_hi", "md5_lo", "model")
    )
    got = export_rows.fetch(rows)
    ids, prompt, hi, lo, model = zip(*got, strict=True) if got else ((),) * 5
    return ResponseFacts(
        ids=np.array(ids, dtype=np.int64),
        prompt=np.array(prompt, dtype=np.int64),
        md5_hi=np.array(hi, dtype=np.int64),
        md5_lo=np.array(lo, dtype=np.int64),
        model=list(model),
    )


def positions(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index in ``keys`` of each wanted value, found?) for unsorted, distinct ``keys``."""
    order = np.argsort(keys, kind="stable")
    at = np.searchsorted(keys[order], wanted)
    at = np.minimum(at, max(len(keys) - 1, 0))
    found = (keys[order][at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return order[at] if len(keys) else at, found


def response_rows_from_facts(
    facts: ResponseFacts, ids: np.ndarray
) -> list[tuple[int, int, str]] | None:
    """``response_rows(ids)`` worked out from ``facts``; None when some of ``ids`` are
    not among them (a response outside the campaign's items: ask ``response_rows``)."""
    rows, found = positions(facts.ids, ids)
    if not found.all():
        return None
    sel_ids = facts.ids[rows]
    # Canonical: the lowest selected id with the same prompt and text hash.
    keys = (sel_ids, facts.md5_lo[rows], facts.md5_hi[rows], facts.prompt[rows])
    by_group = np.lexsort(keys)
    g_prompt, g_hi, g_lo = keys[3][by_group], keys[2][by_group], keys[1][by_group]
    starts = np.r_[
        True,
        (g_prompt[1:] != g_prompt[:-1]) | (g_hi[1:] != g_hi[:-1]) | (g_lo[1:] != g_lo[:-1]),
    ]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(by_group)), 0))
    canonical = np.empty_like(sel_ids)
    canonical[by_group] = sel_ids[by_group][first]
    by_id = np.argsort(sel_ids, kind="stable")
    models = facts.model
    return [
        (i, c, models[r])
        for i, c, r in zip(
            sel_ids[by_id].tolist(), canonical[by_id].tolist(), rows[by_id].tolist(), strict=True
        )
    ]


def response_rows(ids: list[int]) -> list[tuple[int, int, str]]:
    """(id, canonical id, model name) of the responses ``ids``, by id.

    The canonical id is the lowest selected id with the same prompt and the same text
    (md5); the model name is the endpoint's, else "policy v<version>", else the source,
    else "unknown". Both come from the database: 200k responses as (id, prompt, md5,
    endpoint, version, source) tuples cost ~100 MB of Python objects and 1 s to reduce.
    """
    canonical = Window(Min("id"), partition_by=[F("prompt_id"), MD5("text")])
    qs = Response.objects.annotate(canonical=canonical, model=_model_label())
    if connection.vendor != "postgresql":
        qs = qs.filter(pk__in=ids)
        return list(qs.values_list("id", "canonical", "model").order_by("id"))
    # One array parameter, not one per response, and written as one text: psycopg
    # adapts a list item by item (0.8 s for 200k ids), the ints join in 30 ms.
    text = "{" + ",".join(map(str, ids)) + "}"
    qs = qs.filter(id__in=RawSQL("SELECT unnest(%s::bigint[])", [text]))
    return export_rows.fetch(qs.values_list("id", "canonical", "model").order_by("id"))


def release_freed_memory() -> None:
    """Give the heap's free pages back to the operating system (glibc's malloc_trim).

    Loading 1M labels allocates and frees a few hundred MB of temporaries (row chunks,
    sort orders, query rows); glibc keeps freed blocks below live ones in the heap, so a
    process held ~110 MB it no longer used through the report that follows, and that was
    the difference between ~500 and ~400 MB at the peak. A no-op where there is no glibc.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
