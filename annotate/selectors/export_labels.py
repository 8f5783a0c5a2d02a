"""trl-preference's labels as plain columns: one binary COPY a chunk (issue 14).

The lean export read (annotate.selectors.exports, ``details=False``) joins the
annotator, guideline and judge tables and ships every payload as JSON for Python to
decode, about 6 us of PostgreSQL and 8 us of Python per label at 1M. A pairwise label
needs none of that for its trl-preference line: its chosen and rejected response ids,
its strength, and a few ids that map to names through tables of a few thousand rows.

So each chunk is one ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` of fixed-width
integer columns (annotate.selectors.binary_copy), read straight into numpy. PostgreSQL
also says, per label, how the line must be made (``kind``):

- ``SKIP``: a pairwise label whose chosen or rejected is absent or null (a tie): no line;
- ``FAST`` / ``FAST_STRENGTH``: a pairwise label whose chosen and rejected are plain
  JSON integers, the ids it was shown (and strength absent/null, or a plain integer);
- ``GENERAL``: anything else (other task types, odd JSON): these few labels are read
  the lean way (``BaseChunk``) and shaped by the general functions, so the output is
  the same bytes as the general path whatever the payloads hold.

The SQL is Django's own queryset for the export (filters, sources, the id bound,
keyset order), compiled and wrapped, so the labels are exactly the general path's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import F
from django.db.models.expressions import RawSQL

from annotate.exports.privacy import PrivacySettings
from annotate.models import Annotation, Annotator, Campaign, GuidelineVersion, Judge

from . import export_rows
from .binary_copy import copy_fixed_rows, row_dtype
from .exports import BaseChunk, export_items, export_lean_chunk, export_queryset, item_facts

SKIP, FAST, GENERAL, FAST_STRENGTH = 0, 1, 2, 3
NO_STRENGTH = -(2**62)  # the strength column of FAST labels (real ones are < 1e15)
CHUNK = 20_000  # labels a COPY: ~1.4 MB of columns, ~2,000 items' texts

_T = connection.ops.quote_name(Annotation._meta.db_table)
_P = f"{_T}.{connection.ops.quote_name('payload')}"


def _chosen(alias: str, chosen: bool = True) -> str:
    """The chosen (else rejected) response id as the label columns say it."""
    first, second = ("shown_a", "shown_b") if chosen else ("shown_b", "shown_a")
    return f"(CASE {alias}.choice WHEN 1 THEN {alias}.{first} ELSE {alias}.{second} END)"


# How each label is written (the codes above). The JSON says it, but PostgreSQL's JSON
# operators are what reading it costs, so each key is read once, as text (in the inner
# query, which its LIMIT keeps from being merged into this one), and compared with the
# label columns that annotate.models.label_values wrote from that same JSON: a chosen
# whose JSON text is exactly the shown response's id is a plain integer that Python
# reads as that id (a float 12.0, a string "12" or anything else differs, and goes
# GENERAL). Same for the strength, against its column rounded to an integer. Sources
# other than human and ai go GENERAL too (the source is sent as a code). Every NULL is
# tested first: a comparison with NULL is never true, and would fall through to FAST.
_KIND_SQL = f"""CASE
    WHEN m.task_type <> 'pairwise' OR NOT m.x_object THEN {GENERAL}
    WHEN COALESCE(m.x_c, 'null') = 'null' OR COALESCE(m.x_r, 'null') = 'null' THEN {SKIP}
    WHEN m.choice IS NULL OR m.choice NOT IN (1, -1) OR m.shown_a IS NULL
      OR m.shown_b IS NULL OR m.x_c <> {_chosen("m")}::text
      OR m.x_r <> {_chosen("m", False)}::text
      OR m.source IS NULL OR m.source NOT IN ('human', 'ai') THEN {GENERAL}
    WHEN COALESCE(m.x_s, 'null') = 'null' THEN {FAST}
    WHEN m.strength = trunc(m.strength) AND abs(m.strength) < 1e15
      AND m.x_s = m.strength::int8::text THEN {FAST_STRENGTH}
    ELSE {GENERAL} END"""

# (name, select expression over ``k`` (the inner query with its kind), big-endian kind).
_FAST_KINDS = f"k.kind IN ({FAST}, {FAST_STRENGTH})"
_FIELDS = [
    ("id", "k.id", ">i8"),
    ("item", "k.item_id", ">i8"),
    ("annotator", "k.annotator_id", ">i8"),
    ("guideline", "COALESCE(k.guideline_version_id, -1)::int8", ">i8"),
    ("judge", "COALESCE(k.judge_id, -1)::int8", ">i8"),
    ("jpv", "COALESCE(k.judge_prompt_version, -1)::int8", ">i8"),
    ("source", "(CASE k.source WHEN 'human' THEN 0 WHEN 'ai' THEN 1 ELSE 2 END)::int2", ">i2"),
    ("kind", "k.kind::int2", ">i2"),
    ("chosen", f"(CASE WHEN {_FAST_KINDS} THEN {_chosen('k')} ELSE 0 END)", ">i8"),
    ("rejected", f"(CASE WHEN {_FAST_KINDS} THEN {_chosen('k', False)} ELSE 0 END)", ">i8"),
    (
        "strength",
        f"(CASE WHEN k.kind = {FAST_STRENGTH} THEN k.strength::int8 ELSE {NO_STRENGTH} END)",
        ">i8",
    ),
]
_INNER = (
    "id",
    "item_id",
    "annotator_id",
    "guideline_version_id",
    "judge_id",
    "judge_prompt_version",
    "source",
    "task_type",
    "choice",
    "shown_a",
    "shown_b",
    "strength",
    "x_object",
    "x_c",
    "x_r",
    "x_s",
)


@dataclass
class LabelChunk:
    """One chunk of labels: ``read`` labels in all, of which the ``FAST`` and
    ``FAST_STRENGTH`` ones as int64 arrays in id order (``columns``, one per ``_FIELDS``
    name; ``strength`` is ``NO_STRENGTH`` where there is none), the names their ids
    stand for, their items' responses and prompt facts, and the ``GENERAL`` labels read
    the lean way (``general``, None when there are none). ``SKIP`` labels are gone."""

    read: int
    columns: dict[str, np.ndarray]
    responses: dict[int, list[dict[str, Any]]]
    prompts: dict[int, dict[str, Any]]
    general: BaseChunk | None
    pseudonyms: dict[int, str] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)
    judges: dict[int, str] = field(default_factory=dict)

    def item_row(self, item_id: int) -> dict[str, Any]:
        """What a base row says of its item (annotate.exports.shapes)."""
        row = dict(item_facts(self.prompts, item_id))
        row["responses"] = self.responses.get(item_id, [])
        row["messages"] = row["messages"] or []
        return row


def _read(sql: str, params: Any) -> dict[str, np.ndarray]:
    fields = [(name, kind) for name, _expr, kind in _FIELDS]
    # OFFSET 0 keeps the kind a column computed once, not an expression repeated in
    # every field that reads it.
    with_kind = f"SELECT m.*, {_KIND_SQL} AS kind FROM ({sql}) m OFFSET 0"
    outer = f"SELECT {', '.join(expr for _n, expr, _k in _FIELDS)} FROM ({with_kind}) k"
    # The bare psycopg cursor's errors raised as Django's, as every other query's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        parts = list(copy_fixed_rows(cursor.cursor, outer, params, fields))
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=row_dtype(fields))
    rows = rows[np.argsort(rows["id"], kind="stable")]  # the keyset order, whatever the plan
    return {name: rows[name] for name, _k in fields}


def _names(ids: set[int], cache: dict[int, Any], model: Any, column: str) -> dict[int, Any]:
    """``cache`` completed with ``column`` of the ``model`` rows ``ids`` (one query for
    the missing ones); the caches live as long as the export."""
    missing = sorted(i for i in ids if i not in cache and i >= 0)
    if missing:
        rows = model.objects.filter(export_rows.AnyOf(F("id"), missing)).values_list("id", column)
        cache.update(export_rows.fetch(rows))
    return cache


def export_label_chunks(
    *,
    campaign: Campaign,
    filters: dict[str, Any],
    privacy: PrivacySettings,
    max_id: int | None,
    task_types: tuple[str, ...],
    chunk_size: int | None = None,
) -> Iterator[LabelChunk]:
    """The export's labels of ``task_types``, ``chunk_size`` at a time, in id order
    (PostgreSQL only). Per chunk: one COPY, one query for the items' responses, at most
    three for names not seen yet, and one for the ``GENERAL`` labels when there are any.
    ``chunk_size`` defaults to ``CHUNK`` (read at call time, so tests can shrink it)."""
    size = chunk_size or CHUNK
    qs = (
        export_queryset(campaign=campaign, filters=filters, max_id=max_id)
        .filter(task_type__in=task_types)
        .annotate(
            x_object=RawSQL(f"jsonb_typeof({_P}) = 'object'", ()),
            x_c=RawSQL(f"({_P} -> 'chosen')::text", ()),
            x_r=RawSQL(f"({_P} -> 'rejected')::text", ()),
            x_s=RawSQL(f"({_P} -> 'strength')::text", ()),
        )
        .order_by("id")
    )
    pseudonyms: dict[int, str] = {}
    versions: dict[int, int] = {}
    judges: dict[int, str] = {}
    last_id = 0
    while True:
        page = qs.filter(id__gt=last_id).values_list(*_INNER)[:size]
        sql, params = page.query.sql_with_params()
        arrays = _read(sql, params)
        if not len(arrays["id"]):
            return
        last_id = int(arrays["id"][-1])
        kind = arrays["kind"]
        fast = (kind == FAST) | (kind == FAST_STRENGTH)
        columns = {name: values[fast] for name, values in arrays.items()}
        general_ids = arrays["id"][kind == GENERAL].tolist()
        responses, prompts = export_items(set(arrays["item"][kind != SKIP].tolist()))
        general = (
            export_lean_chunk(
                campaign=campaign,
                ids=general_ids,
                privacy=privacy,
                responses=responses,
                prompts=prompts,
            )
            if general_ids
            else None
        )
        yield LabelChunk(
            read=len(kind),
            columns=columns,
            responses=responses,
            prompts=prompts,
            general=general,
            pseudonyms=_names(
                set(columns["annotator"].tolist()), pseudonyms, Annotator, "pseudonym"
            ),
            versions=_names(
                set(columns["guideline"].tolist()), versions, GuidelineVersion, "version"
            ),
            judges=_names(set(columns["judge"].tolist()), judges, Judge, "name"),
        )
