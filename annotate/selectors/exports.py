"""Reads for exports: annotations as plain dicts, streamed in keyset chunks.

Memory stays flat whatever the size: rows are fetched ``chunk_size`` at a time with
``values()`` (no model instances) ordered by id and resumed after the last id seen
(keyset pagination), so no transaction or server-side cursor has to stay open while a
slow client drains the stream. Each chunk costs two queries: the annotations with their
joined prompt, profile and guideline, and the responses of the chunk's items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Max

from annotate.exports.privacy import PrivacySettings, publishable_values, suppress
from annotate.models import (
    Annotation,
    Campaign,
    Item,
    ItemResponse,
    ProfileVersion,
)

from . import export_rows
from .annotations import annotations_filter, annotations_of_sources

CHUNK_SIZE = 5000  # rows per query: planning a 6-join query costs ~30 ms, amortise it

_BASE_FIELDS = {
    "id": "annotation_id",
    "item_id": "item_id",
    "task_type": "task_type",
    "annotator__pseudonym": "annotator_id",
    "created_at": "created_at",
    "time_spent_ms": "time_spent_ms",
    "guideline_version__version": "guideline_version",
    "profile_version__version": "profile_version",
    "payload": "payload",
    "flags": "flags",
    "assignment__presented_order": "presented_order",
    # Issue 16: human or ai, and for AI labels the judge and its prompt version.
    "source": "source",
    "judge__name": "judge",
    "judge_prompt_version": "judge_prompt_version",
}
# Per item, fetched once per chunk with the responses: with overlap k an item's prompt
# appears k times in a chunk, and decoding its messages once instead of k times matters.
_ITEM_FIELDS = {
    "item__prompt__text": "prompt",
    "item__prompt__messages": "messages",
    "item__prompt__conversation_id": "conversation_id",
    "item__prompt__turn__depth": "turn_depth",
    "item__language": "language",
}
# One response per row, then its item's prompt facts (the ORM path's response reader;
# annotate.selectors.export_rows.responses_by_item reads the same order, _ITEM_SIDE_COLUMNS).
_RESPONSE_COLUMNS = (
    "item_id",
    "position",
    "response_id",
    "response__text",
    "response__source",
    "response__endpoint_id",
    "response__policy_version_id",
    "response__language",
    *_ITEM_FIELDS,
)
# The same facts read from the Item itself (items without responses); the lookups of
# _ITEM_FIELDS start from ItemResponse and do not resolve on Item (FieldError).
_ITEM_OWN_FIELDS = {name.removeprefix("item__"): key for name, key in _ITEM_FIELDS.items()}
_NO_PROMPT: dict[str, Any] = {
    "prompt": None,
    "messages": [],
    "conversation_id": None,
    "turn_depth": None,
    "language": "und",
}


def export_queryset(
    *, campaign: Campaign, filters: dict[str, Any], max_id: int | None = None
) -> Any:
    qs = annotations_filter(
        annotations_of_sources(filters.get("source")).filter(campaign=campaign), filters
    )
    if max_id is not None:
        qs = qs.filter(id__lte=max_id)
    return qs


def export_max_annotation_id(*, campaign: Campaign) -> int:
    # Every source: the bound must not cut off AI labels newer than the last human one.
    return Annotation.all_sources.filter(campaign=campaign).aggregate(m=Max("id"))["m"] or 0


def export_publishable(
    *, campaign: Campaign, filters: dict[str, Any], privacy: PrivacySettings, max_id: int | None
) -> dict[str, set[Any]]:
    """Profile values shared by >= k annotators of this export (one query)."""
    if not privacy.k_fields:
        return {}
    pairs = (
        export_queryset(campaign=campaign, filters=filters, max_id=max_id)
        .filter(profile_version__isnull=False)
        .values_list("annotator_id", *[f"profile_version__{f}" for f in privacy.k_fields])
        .distinct()
    )
    return publishable_values(
        ((row[0], dict(zip(privacy.k_fields, row[1:], strict=True))) for row in pairs),
        privacy,
    )


def _model_label(endpoint_id: int | None, policy_id: int | None, source: str) -> str:
    if policy_id:
        return f"policy:{policy_id}"
    if endpoint_id:
        return f"endpoint:{endpoint_id}"
    return source or "unknown"


def _items(item_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Prompt facts of items without responses (live conversations). One query."""
    return {
        row[0]: dict(zip(_ITEM_OWN_FIELDS.values(), row[1:], strict=True))
        for row in Item.objects.filter(id__in=item_ids).values_list("id", *_ITEM_OWN_FIELDS)
    }


def _responses_by_item(
    item_ids: set[int],
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]]]:
    """(responses per item in canonical order, prompt facts per item).

    One query; a second only when some items have no responses (live conversations).
    """
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    prompts: dict[int, dict[str, Any]] = {}
    rows = (
        ItemResponse.objects.filter(item_id__in=item_ids)
        .order_by("item_id", "position")
        .values_list(*_RESPONSE_COLUMNS)
    )
    for item_id, position, rid, text, source, endpoint_id, policy_id, language, *prompt in rows:
        if item_id not in prompts:
            prompts[item_id] = dict(zip(_ITEM_FIELDS.values(), prompt, strict=True))
        out[item_id].append(
            {
                "id": rid,
                "position": position,
                "text": text,
                "source": source,
                "model": _model_label(endpoint_id, policy_id, source),
                "language": language,
            }
        )
    missing = item_ids - set(prompts)
    if missing:
        prompts.update(_items(missing))
    return out, prompts


# What only the raw shape reads: skipping it saves two joins and three JSON decodes a row.
_DETAIL_FIELDS = {
    "created_at",
    "time_spent_ms",
    "profile_version__version",
    "flags",
    "assignment__presented_order",
}
_LEAN_DEFAULTS: dict[str, Any] = {
    "created_at": None,
    "time_spent_ms": None,
    "profile_version": None,
    "flags": {},
    "presented_order": [],
    "profile": {},
}
_JSON_BASE = {"payload", "flags", "assignment__presented_order"}
_JSON_PROFILE = {
    f"profile_version__{f.name}"
    for f in ProfileVersion._meta.get_fields()
    if getattr(f, "get_internal_type", lambda: "")() == "JSONField"
}


# The same facts read from the item side (items first): PostgreSQL walks the chunk's items
# by primary key instead of hashing the whole item table (55 -> 15 ms a chunk of 500 items
# at 1M), and an item without responses comes back as one row with no response, so its
# prompt facts need no second query.
_ITEM_SIDE_COLUMNS = (
    "id",
    "item_responses__position",
    "item_responses__response",
    "item_responses__response__text",
    "item_responses__response__source",
    "item_responses__response__endpoint_id",
    "item_responses__response__policy_version_id",
    "item_responses__response__language",
    *_ITEM_OWN_FIELDS,
)


def _responses_fast(item_ids: set[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[int, Any]]:
    """``_responses_by_item`` read through annotate.selectors.export_rows (one query)."""
    rows = (
        Item.objects.filter(export_rows.AnyOf(F("id"), sorted(item_ids)))
        .order_by("id", "item_responses__position")
        .values_list(*_ITEM_SIDE_COLUMNS)
    )
    return export_rows.responses_by_item(rows, list(_ITEM_OWN_FIELDS.values()), _model_label)


def export_reads_tuned() -> None:
    """Planner settings for a connection that only reads exports (read_ahead's thread).

    A chunk's items are a few thousand rows fetched by key: the planner expects hashing
    the whole prompt and item-response tables to be cheaper than that many index
    lookups, and it is not (61 -> 13 ms a chunk of 2,000 items at 1M labels); nor is a
    parallel worker taking the core the export's Python runs on. Session-wide, so only
    on a connection of its own.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SET enable_hashjoin = off; SET enable_mergejoin = off; "
            "SET max_parallel_workers_per_gather = 0"
        )


def export_items(
    item_ids: set[int],
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]]]:
    """(responses per item, prompt facts per item) of ``item_ids`` (PostgreSQL; one query)."""
    return _responses_fast(item_ids) if item_ids else ({}, {})


def item_facts(prompts: dict[int, dict[str, Any]], item_id: int) -> dict[str, Any]:
    """The prompt facts of one item (prompt, messages, conversation, language)."""
    return prompts.get(item_id, _NO_PROMPT)


@dataclass
class BaseChunk:
    """One keyset chunk of an export: the annotation rows as selected (``keys`` order,
    JSON decoded) and their items' responses and prompt facts, read once per chunk.

    ``row(values)`` makes the base row of one annotation (annotate.exports.shapes); a
    shape that only needs some columns (annotate.exports.fast_preference) reads
    ``values`` directly and calls ``row`` only for the labels it hands back to the
    general shape functions.
    """

    keys: list[str]
    values: list[Any]
    responses: dict[int, list[dict[str, Any]]]
    prompts: dict[int, dict[str, Any]]
    slug: str
    profile_fields: tuple[str, ...]
    privacy: PrivacySettings
    publishable: dict[str, set[Any]]
    details: bool

    def item_facts(self, item_id: int) -> dict[str, Any]:
        """The prompt facts of one item (prompt, messages, conversation, language)."""
        return item_facts(self.prompts, item_id)

    def row(self, values: Any) -> dict[str, Any]:
        n_base = len(self.keys)
        row = dict(zip(self.keys, values[:n_base], strict=True))
        if self.details:
            raw_profile = (
                dict(zip(self.profile_fields, values[n_base:], strict=True))
                if row["profile_version"] is not None
                else None
            )
            row["profile"] = suppress(raw_profile, self.privacy, self.publishable)
        else:
            row.update(_LEAN_DEFAULTS)
        row["campaign"] = self.slug
        row.update(self.prompts.get(row["item_id"], _NO_PROMPT))
        row["responses"] = self.responses.get(row["item_id"], [])
        row["messages"] = row["messages"] or []
        return row


def export_fast_reads(fast: bool | None = None) -> bool:
    """``fast`` if given, else whether the PostgreSQL read path (and the shapes built on
    it) applies: on PostgreSQL unless ``settings.CHORUS_EXPORT_FAST_READS`` is False."""
    if fast is None:
        return connection.vendor == "postgresql" and getattr(
            settings, "CHORUS_EXPORT_FAST_READS", True
        )
    return fast


def export_base_chunks(
    *,
    campaign: Campaign,
    filters: dict[str, Any],
    privacy: PrivacySettings,
    max_id: int | None,
    chunk_size: int = CHUNK_SIZE,
    details: bool = True,
    fast: bool | None = None,
    task_types: tuple[str, ...] | None = None,
) -> Iterator[BaseChunk]:
    """The matching annotations, ``chunk_size`` at a time, in id order (two queries a
    chunk). ``task_types`` keeps only those types (a shape that ignores the others need
    not read them); see ``export_base_rows`` for ``details`` and ``fast``."""
    fast = export_fast_reads(fast)
    fields = {k: v for k, v in _BASE_FIELDS.items() if details or k not in _DETAIL_FIELDS}
    profile_fields = privacy.profile_fields if details else ()
    publishable = (
        export_publishable(campaign=campaign, filters=filters, privacy=privacy, max_id=max_id)
        if details
        else {}
    )
    names = list(fields) + [f"profile_version__{f}" for f in profile_fields]
    json_at = export_rows.json_positions(names, _JSON_BASE | _JSON_PROFILE)
    keys = list(fields.values())
    qs = export_queryset(campaign=campaign, filters=filters, max_id=max_id).order_by("id")
    if task_types is not None:
        qs = qs.filter(task_type__in=task_types)
    last_id = 0
    while True:
        page = qs.filter(id__gt=last_id).values_list(*names)[:chunk_size]
        chunk: list[Any] = (
            export_rows.decode(export_rows.fetch(page), json_at) if fast else list(page)
        )
        if not chunk:
            return
        last_id = chunk[-1][0]
        item_ids = {row[1] for row in chunk}
        if fast:
            responses, prompts = _responses_fast(item_ids)
        else:
            responses, prompts = _responses_by_item(item_ids)
        yield BaseChunk(
            keys=keys,
            values=chunk,
            responses=responses,
            prompts=prompts,
            slug=campaign.slug,
            profile_fields=profile_fields,
            privacy=privacy,
            publishable=publishable,
            details=details,
        )


def export_lean_chunk(
    *,
    campaign: Campaign,
    ids: list[int],
    privacy: PrivacySettings,
    responses: dict[int, list[dict[str, Any]]],
    prompts: dict[int, dict[str, Any]],
) -> BaseChunk:
    """The labels ``ids`` (already selected by an export's filters) as a lean chunk
    (``details=False``), in id order, with their items' facts given (PostgreSQL)."""
    names = [k for k in _BASE_FIELDS if k not in _DETAIL_FIELDS]
    rows = (
        Annotation.all_sources.filter(export_rows.AnyOf(F("id"), ids))
        .order_by("id")
        .values_list(*names)
    )
    json_at = export_rows.json_positions(names, _JSON_BASE)
    return BaseChunk(
        keys=[_BASE_FIELDS[k] for k in names],
        values=export_rows.decode(export_rows.fetch(rows), json_at),
        responses=responses,
        prompts=prompts,
        slug=campaign.slug,
        profile_fields=(),
        privacy=privacy,
        publishable={},
        details=False,
    )


def export_base_rows(
    *,
    campaign: Campaign,
    filters: dict[str, Any],
    privacy: PrivacySettings,
    max_id: int | None,
    chunk_size: int = CHUNK_SIZE,
    details: bool = True,
    fast: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """Every matching annotation as a base row (see annotate.exports.shapes).

    ``details=False`` leaves out creation time, timing, flags, shown order and profile
    fields (the derived shapes never read them) and fills those keys with empty values.
    ``fast`` (default: on PostgreSQL, unless ``settings.CHORUS_EXPORT_FAST_READS`` is
    False) reads through annotate.selectors.export_rows; the rows are the same either way.
    """
    for chunk in export_base_chunks(
        campaign=campaign,
        filters=filters,
        privacy=privacy,
        max_id=max_id,
        chunk_size=chunk_size,
        details=details,
        fast=fast,
    ):
        row = chunk.row
        for values in chunk.values:
            yield row(values)
