"""trl-preference shaped a chunk at a time, with the least Python per label (issue 14).

``shapes.preference_rows`` is the definition; this is the same function unrolled for the
label that dominates real exports, a pairwise choice: the row's columns are read straight
from the selected tuple, and what depends only on the item (the prompt as text or
messages, response texts and model labels) is worked out once per item per chunk instead
of once per pair. Every other label (ranking, rating, edit, best-worst) is handed to
``shapes.preference_rows`` with the full base row, so the output is the same dicts in the
same order as the general path, which the tests compare byte for byte.

JSON Lines (``preference_label_lines``) go further: PostgreSQL hands over plain label
columns (annotate.selectors.export_labels) and the lines are assembled from pre-encoded
parts a column at a time.

Pure: no Django (numpy for the label columns). ``chunk`` is an
annotate.selectors.exports.BaseChunk (duck-typed here).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from .shapes import ShapeOptions, preference_rows, prompt_text
from .writers import _dumps_bytes, jsonl_line

# The lean base columns, as annotate.selectors.exports selects them without details.
LEAN_KEYS = [
    "annotation_id",
    "item_id",
    "task_type",
    "annotator_id",
    "guideline_version",
    "payload",
    "source",
    "judge",
    "judge_prompt_version",
]


# The label types preference_rows makes pairs from (any other yields nothing).
PAIRED_TYPES = ("pairwise", "ranking", "rating", "edit", "bws")


class Chunk(Protocol):
    keys: list[str]
    values: list[Any]
    responses: dict[int, list[dict[str, Any]]]
    prompts: dict[int, dict[str, Any]]

    def row(self, values: Any) -> dict[str, Any]: ...


class _Item:
    """What every pair of one item shares (built on its first pair, like ``_pair``)."""

    __slots__ = ("answers", "encoded", "language", "models", "pairs", "prompt", "texts")

    def __init__(self, row: dict[str, Any], conversational: bool) -> None:
        responses = row["responses"]
        self.texts = {r["id"]: r["text"] for r in responses}
        self.models = {r["id"]: r.get("model") or "" for r in responses}
        self.language = row["language"]
        if conversational:
            self.prompt: Any = [
                {"role": m["role"], "content": m["content"]} for m in row["messages"]
            ] or [{"role": "user", "content": row["prompt"]}]
        else:
            self.prompt = prompt_text(row["messages"], row["prompt"])
        # Conversational chosen/rejected values, one per response (shared by its pairs).
        self.answers: dict[Any, Any] = (
            {rid: [{"role": "assistant", "content": text}] for rid, text in self.texts.items()}
            if conversational
            else self.texts
        )
        # JSON Lines only: the encoded prompt, and the encoded parts of each pair.
        self.encoded = b""
        self.pairs: dict[tuple[Any, Any], tuple[bytes, bytes]] = {}


def preference_chunk(chunk: Chunk, opts: ShapeOptions, *, overall: str) -> list[dict[str, Any]]:
    """The trl-preference rows of one chunk, in the general path's order."""
    if chunk.keys != LEAN_KEYS:  # not the layout unrolled below: the general path
        rows = (chunk.row(v) for v in chunk.values)
        return [out for row in rows for out in preference_rows(row, opts, overall=overall)]
    pairwise = "pairwise" in opts.sources
    conversational = opts.conversational
    items: dict[int, _Item] = {}
    out: list[dict[str, Any]] = []
    append = out.append
    for values in chunk.values:
        annotation_id, item_id, task, annotator, guideline, payload, source, judge, jpv = values
        if task != "pairwise" or type(payload) is not dict:
            out.extend(preference_rows(chunk.row(values), opts, overall=overall))
            continue
        if not pairwise:
            continue
        chosen, rejected = payload.get("chosen"), payload.get("rejected")
        if chosen is None or rejected is None:  # tie
            continue
        item = items.get(item_id)
        if item is None:
            item = items[item_id] = _Item(chunk.row(values), conversational)
        answers, models = item.answers, item.models
        strength = payload.get("strength")
        append(
            {
                "prompt": item.prompt,
                "chosen": answers[chosen],
                "rejected": answers[rejected],
                "annotator_id": annotator,
                "margin": None if strength is None else float(abs(strength)),
                "source": "pairwise",
                "annotation_id": annotation_id,
                "item_id": item_id,
                "chosen_response_id": chosen,
                "rejected_response_id": rejected,
                "chosen_model": models.get(chosen, "annotator-edit")
                if chosen
                else "annotator-edit",
                "rejected_model": models.get(rejected, "") if rejected else "",
                "guideline_version": guideline,
                "language": item.language,
                "label_source": source,
                "judge": judge,
                "judge_prompt_version": jpv,
            }
        )
    return out


def preference_chunks(
    chunks: Iterator[Chunk], opts: ShapeOptions, *, overall: str
) -> Iterator[list[dict[str, Any]]]:
    for chunk in chunks:
        yield preference_chunk(chunk, opts, overall=overall)


def source_task_types(opts: ShapeOptions) -> tuple[str, ...]:
    """The label types that can give a pair: a chunk need not read the others."""
    return tuple(t for t in opts.sources if t in PAIRED_TYPES)


# The bytes orjson writes for a pairwise pair (writers.jsonl_line on _pair's dict) are
# cut where the per-label values go: the item- and pair-level parts are encoded once.
# Every part is encoded by the writer's own encoder (writers._dumps_bytes) and joined
# with orjson's separators, so the line is the same bytes.
def _pair_parts(item: _Item, item_id: int, chosen: int, rejected: int) -> tuple[bytes, bytes]:
    answers, models = item.answers, item.models
    if not item.encoded:
        item.encoded = _dumps_bytes(item.prompt)
    chosen_v, rejected_v = answers[chosen], answers[rejected]  # KeyError as in _pair
    head = b'{"prompt":%b,"chosen":%b,"rejected":%b,"annotator_id":' % (
        item.encoded,
        _dumps_bytes(chosen_v),
        _dumps_bytes(rejected_v),
    )
    chosen_model = models.get(chosen, "annotator-edit") if chosen else "annotator-edit"
    rejected_model = models.get(rejected, "") if rejected else ""
    middle = (
        b',"item_id":%b,"chosen_response_id":%b,"rejected_response_id":%b,"chosen_model":%b,'
        b'"rejected_model":%b,"guideline_version":'
        % tuple(map(_dumps_bytes, (item_id, chosen, rejected, chosen_model, rejected_model)))
    )
    return head, middle


class LabelChunk(Protocol):
    columns: dict[str, np.ndarray]
    general: Any
    pseudonyms: dict[int, str]
    versions: dict[int, int]
    judges: dict[int, str]

    def item_row(self, item_id: int) -> dict[str, Any]: ...


# annotate.selectors.export_labels's values (a pure module: the values, not an import).
NO_STRENGTH = -(2**62)
_SOURCE_NAMES = ("human", "ai")


_COMBO = ("item", "chosen", "rejected", "guideline", "source", "judge", "jpv")


def _memo(cache: dict[Any, bytes], keys: set[Any], encode: Any) -> dict[Any, bytes]:
    for key in keys - cache.keys():
        cache[key] = encode(key)
    return cache


def _item_pair(item: _Item, item_id: int, chosen: int, rejected: int) -> tuple[bytes, bytes]:
    parts = item.pairs.get((chosen, rejected))
    if parts is None:
        parts = item.pairs[(chosen, rejected)] = _pair_parts(item, item_id, chosen, rejected)
    return parts


def preference_label_lines(
    chunk: LabelChunk, opts: ShapeOptions, *, overall: str, names: list[str], caches: dict[str, Any]
) -> tuple[int, bytes]:
    """(rows, JSON Lines bytes) of one chunk of plain label columns
    (annotate.selectors.export_labels): the bytes ``writers.write_jsonl`` makes of the
    same labels' ``preference_rows``, without building the pairwise rows' dicts.

    A line is five pre-encoded parts and the annotation id. Each part is encoded once
    per distinct value (per chunk for the item and pair parts, per export in ``caches``
    for the others) and the lines are put together a column at a time in C (``map``,
    ``zip``, ``join``): no per-row Python. The labels PostgreSQL did not read as plain
    pairwise ones (``chunk.general``) go through ``preference_rows`` and are merged
    back in id order."""
    cols = chunk.columns
    ids = cols["id"].tolist()
    conversational = opts.conversational
    pseudonyms, versions, judges = chunk.pseudonyms, chunk.versions, chunk.judges
    # Each with the constant text that follows it in the line.
    annotators = _memo(
        caches.setdefault("annotator_ids", {}),
        set(cols["annotator"].tolist()),
        lambda a: _dumps_bytes(pseudonyms[a]) + b',"margin":',
    )
    margins = _memo(
        caches.setdefault("margins", {}),
        set(cols["strength"].tolist()),
        lambda s: (
            _dumps_bytes(None if s == NO_STRENGTH else float(abs(s)))
            + b',"source":"pairwise","annotation_id":'
        ),
    )
    guidelines = _memo(
        caches.setdefault("guideline_ids", {}),
        set(cols["guideline"].tolist()),
        lambda g: _dumps_bytes(versions[g] if g >= 0 else None),
    )
    tails = caches.setdefault("label_tails", {})
    # What the rest of a line depends on: its item, chosen and rejected ids, guideline,
    # source, judge and judge prompt version. Each distinct combination gives the line's
    # head (prompt ... "annotator_id":) and its end (after the annotation id).
    combos, which = np.unique(
        np.stack([cols[k] for k in _COMBO], axis=1), axis=0, return_inverse=True
    )
    items: dict[int, _Item] = {}
    heads, ends = [], []
    for item_id, chosen, rejected, gv, src, judge, jpv in combos.tolist():
        item = items.get(item_id)
        if item is None:
            item = items[item_id] = _Item(chunk.item_row(item_id), conversational)
        head, middle = _item_pair(item, item_id, chosen, rejected)
        tail_key = (item.language, src, judge, jpv)
        tail = tails.get(tail_key)
        if tail is None:
            values = (
                item.language,
                _SOURCE_NAMES[src],
                judges[judge] if judge >= 0 else None,
                jpv if jpv >= 0 else None,
            )
            tail = tails[tail_key] = (
                b',"language":%b,"label_source":%b,"judge":%b,"judge_prompt_version":%b}\n'
                % tuple(map(_dumps_bytes, values))
            )
        heads.append(head)
        ends.append(middle + guidelines[gv] + tail)
    at = which.reshape(-1).tolist()
    lines = list(
        map(
            b"".join,
            zip(
                map(heads.__getitem__, at),
                map(annotators.__getitem__, cols["annotator"].tolist()),
                map(margins.__getitem__, cols["strength"].tolist()),
                map(b"%d".__mod__, ids),
                map(ends.__getitem__, at),
                strict=True,
            ),
        )
    )
    if chunk.general is None:
        return len(lines), b"".join(lines)
    general: list[tuple[int, bytes]] = []
    for values in chunk.general.values:
        for row in preference_rows(chunk.general.row(values), opts, overall=overall):
            general.append((values[0], jsonl_line(row, names)))
    merged = heapq.merge(zip(ids, lines, strict=True), general, key=lambda pair: pair[0])
    out = [data for _id, data in merged]
    return len(out), b"".join(out)
