"""Validation and normalisation of annotation payloads, one function per task type.

Pure functions: no database access. The caller passes what the check needs (the response
ids in the order the annotator saw them, the response texts, the campaign's scale and
attributes) and gets back the payload to store, or a ``PayloadError`` whose ``errors``
map a field to a sentence a person can act on, in the active language (gettext): the
annotator's on task pages, English over the API.

Stored payloads name responses by id, never by screen position, so a label reads the
same whatever order it was shown in; the shown order stays on the assignment.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext
from rapidfuzz.distance import Levenshtein

from annotate.input.checks import InputError, check_json, parse_int, text_problem

MAX_TEXT = 20_000  # characters in any free-text field
MAX_PAYLOAD_BYTES = 200_000


class PayloadError(ValueError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class PayloadContext:
    """What validation needs to know about the item, the assignment and the campaign."""

    presented_order: Sequence[int]  # response ids, position 0 shown as "A"
    response_texts: Mapping[int, str] = field(default_factory=dict)
    rating_range: tuple[int, int] = (1, 7)
    rating_attributes: Sequence[str] = ("helpfulness",)
    critique_categories: Sequence[str] = ()


Validator = Callable[[Mapping[str, Any], PayloadContext], dict[str, Any]]


def _text(raw: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PayloadError({key: gettext("Must be text.")})
    value = value.replace("\r\n", "\n")
    if text_problem(value):
        # The input boundary's text rule (annotate.input): PostgreSQL's jsonb cannot hold
        # NUL or an unpaired surrogate; no keyboard produces them, so refuse, not alter.
        raise PayloadError({key: gettext("Contains characters that cannot be stored.")})
    if len(value) > MAX_TEXT:
        raise PayloadError({key: gettext("At most %(n)s characters.") % {"n": MAX_TEXT}})
    if required and not value.strip():
        raise PayloadError({key: gettext("This field is required.")})
    return value


def _int(value: Any, key: str) -> int:
    # The input boundary's rule: ASCII digits, at most 18 ("²" and 5,000 digits were
    # 500s); bool is an int subclass, but "true" is not a strength.
    try:
        return parse_int(value, field=key)
    except InputError:
        raise PayloadError({key: gettext("Must be a whole number.")}) from None


def _response_id(value: Any, key: str, ctx: PayloadContext) -> int:
    rid = _int(value, key)
    if rid not in ctx.presented_order:
        raise PayloadError({key: gettext("Not one of this task's responses.")})
    return rid


def validate_pairwise(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """choice A/B/tie; strength -3..+3 where negative favours A (optional, must agree)."""
    if len(ctx.presented_order) != 2:
        raise PayloadError({"item": gettext("A pairwise task needs exactly two responses.")})
    choice = raw.get("choice")
    if isinstance(choice, str):
        choice = choice.strip()
        choice = choice.lower() if choice.lower() == "tie" else choice.upper()
    if choice not in ("A", "B", "tie"):
        raise PayloadError({"choice": gettext("Choose A, B or tie.")})
    strength: int | None = None
    if raw.get("strength") not in (None, ""):
        strength = _int(raw["strength"], "strength")
        if not -3 <= strength <= 3:
            raise PayloadError(
                {"strength": gettext("Strength runs from -3 (A much better) to +3.")}
            )
        expected = {"A": strength < 0, "B": strength > 0, "tie": strength == 0}[choice]
        if not expected:
            raise PayloadError({"strength": gettext("Strength must agree with the choice.")})
    a_id, b_id = ctx.presented_order
    chosen, rejected = {"A": (a_id, b_id), "B": (b_id, a_id), "tie": (None, None)}[choice]
    return {
        "choice": choice,
        "strength": strength,
        "reason": _text(raw, "reason"),
        "response_ids": [a_id, b_id],
        "chosen": chosen,
        "rejected": rejected,
    }


def validate_ranking(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """ranking: best first; each entry a response id or a list of tied ids."""
    ranking = raw.get("ranking")
    if not isinstance(ranking, list) or not ranking:
        raise PayloadError({"ranking": gettext("Give the responses in order, best first.")})
    groups: list[list[int]] = []
    for entry in ranking:
        members = entry if isinstance(entry, list) else [entry]
        if not members:
            raise PayloadError({"ranking": gettext("A tie group cannot be empty.")})
        groups.append([_response_id(m, "ranking", ctx) for m in members])
    flat = [rid for group in groups for rid in group]
    if len(flat) != len(set(flat)):
        raise PayloadError({"ranking": gettext("Each response may appear only once.")})
    if set(flat) != set(ctx.presented_order):
        raise PayloadError({"ranking": gettext("Rank every response.")})
    return {"ranking": groups}


def validate_bws(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """Best-worst scaling: ``best`` and ``worst``, two different ids of the K shown.

    The shown ids are stored with the choice: the responses that were neither best nor
    worst are part of the label (each of them lost to the best and beat the worst).
    """
    if len(ctx.presented_order) < 3:
        raise PayloadError({"item": gettext("A best-worst task needs at least three responses.")})
    for key in ("best", "worst"):
        if raw.get(key) in (None, ""):
            message = {
                "best": gettext("Choose the best response."),
                "worst": gettext("Choose the worst response."),
            }[key]
            raise PayloadError({key: message})
    best = _response_id(raw["best"], "best", ctx)
    worst = _response_id(raw["worst"], "worst", ctx)
    if best == worst:
        raise PayloadError({"worst": gettext("The best and the worst response must be different.")})
    return {"best": best, "worst": worst, "response_ids": list(ctx.presented_order)}


def validate_rating(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """ratings: {response_id: {attribute: value}} for every response and attribute."""
    ratings = raw.get("ratings")
    if not isinstance(ratings, Mapping) or not ratings:
        raise PayloadError({"ratings": gettext("Rate every response.")})
    low, high = ctx.rating_range
    out: dict[str, dict[str, int]] = {}
    for key, values in ratings.items():
        rid = _response_id(key, "ratings", ctx)
        if not isinstance(values, Mapping):
            raise PayloadError({f"ratings.{rid}": gettext("Give a value for each attribute.")})
        row: dict[str, int] = {}
        for attribute in ctx.rating_attributes:
            if values.get(attribute) in (None, ""):
                raise PayloadError(
                    {f"ratings.{rid}.{attribute}": gettext("This rating is required.")}
                )
            value = _int(values[attribute], f"ratings.{rid}.{attribute}")
            if not low <= value <= high:
                raise PayloadError(
                    {
                        f"ratings.{rid}.{attribute}": gettext(
                            "Must be between %(low)s and %(high)s."
                        )
                        % {"low": low, "high": high}
                    }
                )
            row[attribute] = value
        unknown = set(values) - set(ctx.rating_attributes)
        if unknown:
            raise PayloadError(
                {
                    "ratings": gettext("Unknown attributes: %(names)s.")
                    % {"names": ", ".join(sorted(unknown))}
                }
            )
        out[str(rid)] = row
    missing = set(ctx.presented_order) - {int(k) for k in out}
    if missing:
        raise PayloadError({"ratings": gettext("Rate every response.")})
    return {"ratings": out}


def _word_diff(before: str, after: str) -> list[list[str]]:
    """Word-level diff as [op, text] runs: op in equal/delete/insert."""
    a, b = before.split(" "), after.split(" ")
    ops: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(["equal", " ".join(a[i1:i2])])
            continue
        if tag in ("delete", "replace"):
            ops.append(["delete", " ".join(a[i1:i2])])
        if tag in ("insert", "replace"):
            ops.append(["insert", " ".join(b[j1:j2])])
    return ops


def validate_edit(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """edited_text of the (only) response; stores diff and character edit distance."""
    if raw.get("response_id") in (None, ""):
        if len(ctx.presented_order) != 1:
            raise PayloadError({"response_id": gettext("Say which response was edited.")})
        rid = ctx.presented_order[0]
    else:
        rid = _response_id(raw["response_id"], "response_id", ctx)
    edited = _text(raw, "edited_text", required=True)
    original = ctx.response_texts.get(rid, "")
    return {
        "response_id": rid,
        "edited_text": edited,
        "original_text": original,
        "edit_distance": Levenshtein.distance(original, edited),
        "diff": _word_diff(original, edited),
    }


def validate_critique(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """Free-text critique (required), suggestion, and categorised spans of the response."""
    critique = _text(raw, "critique", required=True)
    suggestion = _text(raw, "suggestion")
    spans_raw = raw.get("spans") or []
    if not isinstance(spans_raw, list):
        raise PayloadError({"spans": gettext("Spans must be a list.")})
    if len(spans_raw) > 200:
        raise PayloadError({"spans": gettext("At most 200 highlighted spans.")})
    spans = []
    for n, span in enumerate(spans_raw):
        key = f"spans.{n}"
        if not isinstance(span, Mapping):
            raise PayloadError({key: gettext("Each span needs start, end and category.")})
        if span.get("response_id") in (None, "") and len(ctx.presented_order) == 1:
            rid = ctx.presented_order[0]
        else:
            rid = _response_id(span.get("response_id"), f"{key}.response_id", ctx)
        start, end = _int(span.get("start"), f"{key}.start"), _int(span.get("end"), f"{key}.end")
        text = ctx.response_texts.get(rid, "")
        if not 0 <= start < end <= len(text):
            raise PayloadError(
                {key: gettext("Span must lie inside the response (0-%(n)s).") % {"n": len(text)}}
            )
        category = span.get("category")
        if category not in ctx.critique_categories:
            raise PayloadError({f"{key}.category": gettext("Choose one of the listed categories.")})
        spans.append(
            {
                "response_id": rid,
                "start": start,
                "end": end,
                "category": category,
                "text": text[start:end],
            }
        )
    return {"critique": critique, "suggestion": suggestion, "spans": spans}


def validate_conversation(raw: Mapping[str, Any], ctx: PayloadContext) -> dict[str, Any]:
    """Closing feedback of a live conversation; turn-level labels are stored per turn."""
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise PayloadError({"attributes": gettext("Attribute ratings must be an object.")})
    clean: dict[str, int] = {}
    for name, value in attributes.items():
        number = _int(value, f"attributes.{name}")
        if not 1 <= number <= 100:
            raise PayloadError(
                {
                    f"attributes.{name}": gettext("Must be between %(low)s and %(high)s.")
                    % {"low": 1, "high": 100}
                }
            )
        clean[str(name)] = number
    out: dict[str, Any] = {"attributes": clean, "feedback": _text(raw, "feedback")}
    if "conversation_id" in raw:
        out["conversation_id"] = _int(raw["conversation_id"], "conversation_id")
    return out


VALIDATORS: dict[str, Validator] = {
    "pairwise": validate_pairwise,
    "ranking": validate_ranking,
    "rating": validate_rating,
    "edit": validate_edit,
    "critique": validate_critique,
    "conversation": validate_conversation,
    "bws": validate_bws,
}


def validate_payload(task_type: str, raw: Any, ctx: PayloadContext) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise PayloadError({"payload": gettext("The answer must be a JSON object.")})
    try:
        check_json(raw, field="payload", max_depth=8)
    except InputError as exc:
        raise PayloadError({exc.field: exc.message}) from None
    if len(json.dumps(raw, default=str)) > MAX_PAYLOAD_BYTES:
        raise PayloadError({"payload": gettext("The answer is too large.")})
    try:
        validator = VALIDATORS[task_type]
    except KeyError:
        raise PayloadError(
            {"task_type": gettext("Unknown task type %(name)r.") % {"name": task_type}}
        ) from None
    return validator(raw, ctx)
