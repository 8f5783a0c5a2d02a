"""trl-preference shaped a chunk at a time, with the least Python per label (issue 14).

``shapes.preference_rows`` is the definition; this is the same function unrolled for the
label that dominates real exports, a pairwise choice: the row's columns are read straight
from the selected tuple, and what depends only on the item (the prompt as text or
messages, response texts and model labels) is worked out once per item per chunk instead
of once per pair. Every other label (ranking, rating, edit, best-worst) is handed to
``shapes.preference_rows`` with the full base row, so the output is the same dicts in the
same order as the general path, which the tests compare byte for byte.

Pure: no Django. ``chunk`` is an annotate.selectors.exports.BaseChunk (duck-typed here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

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


# The bytes orjson writes for a pairwise pair (writers.jsonl_line on _pair's dict), cut
# where the per-label values go: the item- and pair-level parts are encoded once, each
# label costs one %-format. Every part is encoded by the writer's own encoder
# (writers._dumps_bytes) and joined with orjson's separators, so the line is the same bytes.
_LINE = b'%b%b,"margin":%b,"source":"pairwise","annotation_id":%d%b%b%b}\n'


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


def preference_chunk_lines(
    chunk: Chunk, opts: ShapeOptions, *, overall: str, names: list[str], caches: dict[str, Any]
) -> tuple[int, bytes]:
    """(rows, JSON Lines bytes) of one chunk: ``writers.write_jsonl`` over
    ``preference_chunk`` without building the pairwise rows' dicts. ``caches`` lives as
    long as the export (encoded annotator ids, margins, label sources)."""
    if chunk.keys != LEAN_KEYS or "pairwise" not in opts.sources:
        rows = preference_chunk(chunk, opts, overall=overall)
        return len(rows), b"".join([jsonl_line(row, names) for row in rows])
    conversational = opts.conversational
    items: dict[int, _Item] = {}
    annotators = caches.setdefault("annotators", {})
    margins = caches.setdefault("margins", {})
    guidelines = caches.setdefault("guidelines", {})
    tails = caches.setdefault("tails", {})
    lines: list[bytes] = []
    append = lines.append
    for values in chunk.values:
        annotation_id, item_id, task, annotator, guideline, payload, source, judge, jpv = values
        if task != "pairwise" or type(payload) is not dict or type(annotation_id) is not int:
            for row in preference_rows(chunk.row(values), opts, overall=overall):
                append(jsonl_line(row, names))
            continue
        chosen, rejected = payload.get("chosen"), payload.get("rejected")
        if chosen is None or rejected is None:  # tie
            continue
        if type(chosen) is not int or type(rejected) is not int:  # 12.0 is not 12 in JSON
            for row in preference_rows(chunk.row(values), opts, overall=overall):
                append(jsonl_line(row, names))
            continue
        item = items.get(item_id)
        if item is None:
            item = items[item_id] = _Item(chunk.row(values), conversational)
        parts = item.pairs.get((chosen, rejected))
        if parts is None:
            parts = item.pairs[(chosen, rejected)] = _pair_parts(item, item_id, chosen, rejected)
        encoded = annotators.get(annotator)
        if encoded is None:
            encoded = annotators[annotator] = _dumps_bytes(annotator)
        strength = payload.get("strength")
        margin = margins.get(strength) if type(strength) is int else None
        if margin is None:
            margin = _dumps_bytes(None if strength is None else float(abs(strength)))
            if type(strength) is int:
                margins[strength] = margin
        gv = guidelines.get(guideline)
        if gv is None:
            gv = guidelines[guideline] = _dumps_bytes(guideline)
        key = (item.language, source, judge, jpv)
        tail = tails.get(key)
        if tail is None:
            tail = tails[key] = (
                b',"language":%b,"label_source":%b,"judge":%b,"judge_prompt_version":%b'
                % tuple(map(_dumps_bytes, key))
            )
        append(_LINE % (parts[0], encoded, margin, annotation_id, parts[1], gv, tail))
    return len(lines), b"".join(lines)
