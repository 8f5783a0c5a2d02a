"""Turn one annotation (a plain dict from annotate.selectors.exports) into export rows.

Pure functions, no Django: each shape maps a base row to zero or more output dicts, so
an export is ``chain(shape(row) for row in rows)`` and streams with flat memory.

Base row keys: annotation_id, campaign, item_id, task_type, annotator_id (pseudonym),
created_at (datetime), time_spent_ms, guideline_version, profile_version, payload,
flags, presented_order, prompt (last user message), messages (chat up to the prompt),
conversation_id, language (the item's BCP 47 tag, "und" when undeclared), responses
([{id, position, text, source, endpoint_id, policy_version_id, model, language}],
canonical order), profile ({field: value}, suppressed), source (human | ai), judge (the
AI judge's name, else None), judge_prompt_version. Every shape carries the item's
``language``.

Preference rows (shape ``trl-preference``) follow TRL's preference dataset format:
``prompt``/``chosen``/``rejected`` as plain text, or, with ``conversational``, as message
lists (``prompt`` = the chat so far, ``chosen``/``rejected`` = one assistant message) that
TRL renders with the tokenizer's chat template. Ties never make a pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RANKING_PAIRS = ("all", "adjacent", "best")


@dataclass(frozen=True)
class ShapeOptions:
    """Knobs of the shapes; defaults are what a DPO run wants without thinking."""

    conversational: bool = False
    # ranking -> pairs: every implied pair, only neighbouring ranks, or best vs each other.
    ranking_pairs: str = "all"
    # rating -> pairs: only pairs whose ratings differ by at least this much.
    min_margin: float = 1.0
    # The rating attribute used for pairs and unpaired labels (campaign overall if None).
    attribute: str | None = None
    # trl-unpaired: rating > threshold is True, < threshold False, == threshold dropped.
    # None means the middle of the campaign's scale.
    threshold: float | None = None
    # Which labels feed trl-preference.
    sources: tuple[str, ...] = ("pairwise", "ranking", "rating", "edit", "bws")


def prompt_text(messages: Sequence[Mapping[str, str]], fallback: str) -> str:
    """Plain-text prompt: the user message alone, or a role-tagged transcript.

    A single-turn prompt is just its text. Multi-turn context is kept (dropping it
    would teach the model to answer a question it never saw) as "role: content" blocks.
    """
    if not messages:
        return fallback
    if len(messages) == 1:
        return str(messages[0].get("content", fallback))
    return "\n\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in messages)


def _texts(row: Mapping[str, Any]) -> dict[int, str]:
    return {r["id"]: r["text"] for r in row["responses"]}


def _models(row: Mapping[str, Any]) -> dict[int, str]:
    return {r["id"]: r.get("model") or "" for r in row["responses"]}


def _pair(
    row: Mapping[str, Any],
    opts: ShapeOptions,
    *,
    chosen: str,
    rejected: str,
    margin: float | None,
    source: str,
    chosen_id: int | None,
    rejected_id: int | None,
) -> dict[str, Any]:
    models = _models(row)
    if opts.conversational:
        prompt: Any = [{"role": m["role"], "content": m["content"]} for m in row["messages"]] or [
            {"role": "user", "content": row["prompt"]}
        ]
        chosen_v: Any = [{"role": "assistant", "content": chosen}]
        rejected_v: Any = [{"role": "assistant", "content": rejected}]
    else:
        prompt = prompt_text(row["messages"], row["prompt"])
        chosen_v, rejected_v = chosen, rejected
    return {
        "prompt": prompt,
        "chosen": chosen_v,
        "rejected": rejected_v,
        "annotator_id": row["annotator_id"],
        "margin": None if margin is None else float(margin),
        "source": source,
        "annotation_id": row["annotation_id"],
        "item_id": row["item_id"],
        "chosen_response_id": chosen_id,
        "rejected_response_id": rejected_id,
        "chosen_model": models.get(chosen_id, "annotator-edit") if chosen_id else "annotator-edit",
        "rejected_model": models.get(rejected_id, "") if rejected_id else "",
        "guideline_version": row["guideline_version"],
        "language": row["language"],
        **_label_source(row),
    }


def _label_source(row: Mapping[str, Any]) -> dict[str, Any]:
    """Who gave the label (issue 16). ``source`` already names the label type in the
    derived shapes, so there the column is ``label_source``."""
    return {
        "label_source": row.get("source", "human"),
        "judge": row.get("judge"),
        "judge_prompt_version": row.get("judge_prompt_version"),
    }


def bws_groups(payload: Mapping[str, Any], shown: Sequence[int]) -> list[list[int]]:
    """A best-worst label as the partial ranking it implies: [[best], [the rest], [worst]].

    The middle group is a tie only in the sense that the label says nothing between its
    members; ``shown`` (the ids presented) names them.
    """
    best, worst = payload.get("best"), payload.get("worst")
    if best is None or worst is None:
        return []
    ids = [int(r) for r in (payload.get("response_ids") or shown)]
    middle = [r for r in ids if r not in (best, worst)]
    return [[best], middle, [worst]] if middle else [[best], [worst]]


def _group_pairs(groups: Sequence[Sequence[int]], how: str) -> Iterator[tuple[int, int, int]]:
    """(chosen, rejected, rank gap) for every pair a best-first list of groups implies."""
    for (hi, better), (lo, worse) in itertools.combinations(enumerate(groups), 2):
        if how == "adjacent" and lo != hi + 1:
            continue
        if how == "best" and hi != 0:
            continue
        for c, r in itertools.product(better, worse):
            yield c, r, lo - hi


def _rating_values(row: Mapping[str, Any], attribute: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for rid, values in (row["payload"].get("ratings") or {}).items():
        if isinstance(values, Mapping) and values.get(attribute) is not None:
            out[int(rid)] = float(values[attribute])
    return out


def preference_rows(
    row: Mapping[str, Any], opts: ShapeOptions, *, overall: str
) -> Iterator[dict[str, Any]]:
    """Pairs implied by one annotation (pairwise, ranking, rating or edit)."""
    task, payload = row["task_type"], row["payload"]
    if task not in opts.sources:
        return
    texts = _texts(row)
    if task == "pairwise":
        chosen, rejected = payload.get("chosen"), payload.get("rejected")
        if chosen is None or rejected is None:  # tie
            return
        strength = payload.get("strength")
        yield _pair(
            row,
            opts,
            chosen=texts[chosen],
            rejected=texts[rejected],
            margin=None if strength is None else abs(strength),
            source="pairwise",
            chosen_id=chosen,
            rejected_id=rejected,
        )
    elif task in ("ranking", "bws"):
        # A best-worst label implies best > each other and each other > worst, the
        # pairs of its partial ranking; ranking_pairs applies to both the same way.
        groups: list[list[int]] = (
            payload.get("ranking") or []
            if task == "ranking"
            else bws_groups(payload, row["presented_order"])
        )
        for c, r, gap in _group_pairs(groups, opts.ranking_pairs):
            yield _pair(
                row,
                opts,
                chosen=texts[c],
                rejected=texts[r],
                margin=gap,
                source=task,
                chosen_id=c,
                rejected_id=r,
            )
    elif task == "rating":
        values = _rating_values(row, opts.attribute or overall)
        order = [r["id"] for r in row["responses"] if r["id"] in values]
        for a, b in itertools.combinations(order, 2):
            diff = values[a] - values[b]
            if abs(diff) < opts.min_margin or diff == 0:
                continue
            c, r = (a, b) if diff > 0 else (b, a)
            yield _pair(
                row,
                opts,
                chosen=texts[c],
                rejected=texts[r],
                margin=abs(diff),
                source="rating",
                chosen_id=c,
                rejected_id=r,
            )
    elif task == "edit":
        edited, original = payload.get("edited_text", ""), payload.get("original_text", "")
        if edited.strip() and edited.strip() != original.strip():
            yield _pair(
                row,
                opts,
                chosen=edited,
                rejected=original,
                margin=payload.get("edit_distance"),
                source="edit",
                chosen_id=None,
                rejected_id=payload.get("response_id"),
            )


def unpaired_rows(
    row: Mapping[str, Any], opts: ShapeOptions, *, overall: str, scale: tuple[int, int]
) -> Iterator[dict[str, Any]]:
    """KTO-style rows (prompt, completion, label) from one rating annotation."""
    if row["task_type"] != "rating":
        return
    attribute = opts.attribute or overall
    threshold = opts.threshold if opts.threshold is not None else (scale[0] + scale[1]) / 2
    texts, models = _texts(row), _models(row)
    for rid, value in _rating_values(row, attribute).items():
        if value == threshold:
            continue
        if opts.conversational:
            prompt: Any = [dict(m) for m in row["messages"]]
            completion: Any = [{"role": "assistant", "content": texts[rid]}]
        else:
            prompt, completion = prompt_text(row["messages"], row["prompt"]), texts[rid]
        yield {
            "prompt": prompt,
            "completion": completion,
            "label": value > threshold,
            "rating": value,
            "attribute": attribute,
            "annotator_id": row["annotator_id"],
            "annotation_id": row["annotation_id"],
            "item_id": row["item_id"],
            "response_id": rid,
            "model": models.get(rid, ""),
            "language": row["language"],
            **_label_source(row),
        }


def ranking_rows(row: Mapping[str, Any], opts: ShapeOptions) -> Iterator[dict[str, Any]]:
    """One row per ranking (or best-worst) annotation: the prompt and every response,
    best first; a best-worst label is the partial ranking [[best], [the rest], [worst]]."""
    if row["task_type"] == "ranking":
        groups = row["payload"].get("ranking") or []
    elif row["task_type"] == "bws":
        groups = bws_groups(row["payload"], row["presented_order"])
    else:
        return
    texts, models = _texts(row), _models(row)
    ordered = []
    for rank, group in enumerate(groups):
        for rid in group:
            ordered.append(
                {"response_id": rid, "rank": rank, "text": texts[rid], "model": models.get(rid, "")}
            )
    prompt: Any = (
        [dict(m) for m in row["messages"]]
        if opts.conversational
        else prompt_text(row["messages"], row["prompt"])
    )
    yield {
        "prompt": prompt,
        "responses": ordered,
        "ranking": groups,
        "annotator_id": row["annotator_id"],
        "annotation_id": row["annotation_id"],
        "item_id": row["item_id"],
        "guideline_version": row["guideline_version"],
        "language": row["language"],
        **_label_source(row),
    }


def raw_rows(row: Mapping[str, Any], profile_fields: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Everything about one annotation; profile fields flattened as ``profile_<field>``."""
    out = {
        "annotation_id": row["annotation_id"],
        "campaign": row["campaign"],
        "item_id": row["item_id"],
        "task_type": row["task_type"],
        "language": row["language"],
        "annotator_id": row["annotator_id"],
        "source": row.get("source", "human"),
        "judge": row.get("judge"),
        "judge_prompt_version": row.get("judge_prompt_version"),
        "created_at": row["created_at"],
        "time_spent_ms": row["time_spent_ms"],
        "guideline_version": row["guideline_version"],
        "profile_version": row["profile_version"],
        "prompt": row["prompt"],
        "messages": row["messages"],
        "responses": row["responses"],
        "presented_order": row["presented_order"],
        "payload": row["payload"],
        "flags": row["flags"],
    }
    profile = row["profile"] or {}
    for field in profile_fields:
        out[f"profile_{field}"] = profile.get(field)
    yield out
