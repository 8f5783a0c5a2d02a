"""Training data from labels: plain records in, preference pairs and ranked lists out.

No Django here. ``modelserve.learning.snapshots`` turns Annotation rows into ``LabelRecord``s; this
module turns those into what the reward model and DPO loops train on:

- pairwise: chosen over rejected, ``margin = |strength| / 3`` (strength -3..3), ties dropped;
- ranking: every pair implied by the order (groups of ties give no pair among themselves),
  plus the whole list for a listwise loss;
- rating: within one annotator and one prompt, every pair of responses whose overall
  rating differs, ``margin = difference / (scale max - scale min)``;
- edit: the edited text over the original response, margin 1.

The train/validation split is by prompt (a prompt's pairs never straddle the split) and
by a hash of the prompt key, so it is deterministic and a prompt keeps its side when the
data grows. ``snapshot_hash`` is the SHA-256 of the exact data, split included.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Message = dict[str, str]


@dataclass(frozen=True)
class LabelRecord:
    """One annotation, flattened: everything the builder needs and nothing from Django."""

    annotation_id: int
    task_type: str
    annotator: str  # pseudonym
    prompt_key: str  # stable id of the prompt (Prompt.pk as text); the split hashes its text
    prompt: tuple[Message, ...]  # chat messages ending with the user turn
    responses: dict[int, str]  # response id -> text, for the responses this label is about
    payload: dict[str, Any]
    group: str = "unknown"  # demographic group of the annotator (profile field value)
    overall_attribute: str = "helpfulness"
    rating_range: tuple[float, float] = (1.0, 7.0)


@dataclass(frozen=True)
class PreferencePair:
    prompt_key: str
    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    margin: float
    source: str  # task type the pair came from
    annotator: str
    group: str
    annotation_id: int


@dataclass(frozen=True)
class RankedList:
    """Responses in groups, best group first; responses inside a group are tied."""

    prompt_key: str
    prompt: tuple[Message, ...]
    groups: tuple[tuple[str, ...], ...]
    annotator: str
    group: str
    annotation_id: int


@dataclass
class Dataset:
    train_pairs: list[PreferencePair] = field(default_factory=list)
    val_pairs: list[PreferencePair] = field(default_factory=list)
    train_lists: list[RankedList] = field(default_factory=list)
    val_lists: list[RankedList] = field(default_factory=list)
    data_hash: str = ""
    n_dropped_ties: int = 0

    @property
    def n_examples(self) -> int:
        return len(self.train_pairs) + len(self.val_pairs)

    def summary(self) -> dict[str, Any]:
        by_source: dict[str, int] = {}
        for p in itertools.chain(self.train_pairs, self.val_pairs):
            by_source[p.source] = by_source.get(p.source, 0) + 1
        return {
            "train_pairs": len(self.train_pairs),
            "val_pairs": len(self.val_pairs),
            "train_lists": len(self.train_lists),
            "val_lists": len(self.val_lists),
            "pairs_by_source": by_source,
            "dropped_ties": self.n_dropped_ties,
        }


class DataError(ValueError):
    """A label cannot be turned into training data (malformed payload)."""


def _pairs_from_pairwise(rec: LabelRecord) -> tuple[list[PreferencePair], int]:
    p = rec.payload
    if p.get("choice") == "tie" or p.get("chosen") is None or p.get("rejected") is None:
        return [], 1
    chosen, rejected = int(p["chosen"]), int(p["rejected"])
    if chosen not in rec.responses or rejected not in rec.responses:
        raise DataError(f"annotation {rec.annotation_id}: response ids not in the item")
    strength = p.get("strength")
    margin = min(abs(float(strength)), 3.0) / 3.0 if strength is not None else 0.0
    return [_pair(rec, rec.responses[chosen], rec.responses[rejected], margin)], 0


def _pair(rec: LabelRecord, chosen: str, rejected: str, margin: float) -> PreferencePair:
    return PreferencePair(
        prompt_key=rec.prompt_key,
        prompt=rec.prompt,
        chosen=chosen,
        rejected=rejected,
        margin=round(float(margin), 6),
        source=rec.task_type,
        annotator=rec.annotator,
        group=rec.group,
        annotation_id=rec.annotation_id,
    )


def _from_ranking(rec: LabelRecord) -> tuple[list[PreferencePair], RankedList | None, int]:
    groups = [[int(r) for r in g] for g in rec.payload.get("ranking") or [] if g]
    for g in groups:
        for r in g:
            if r not in rec.responses:
                raise DataError(f"annotation {rec.annotation_id}: unknown response {r}")
    pairs: list[PreferencePair] = []
    ties = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    n = len(groups)
    for i in range(n):
        for j in range(i + 1, n):
            # Rank distance as margin, scaled so the first and last group differ by 1.
            margin = (j - i) / (n - 1) if n > 1 else 0.0
            for a in groups[i]:
                for b in groups[j]:
                    pairs.append(_pair(rec, rec.responses[a], rec.responses[b], margin))
    listed = None
    if n >= 2:
        listed = RankedList(
            prompt_key=rec.prompt_key,
            prompt=rec.prompt,
            groups=tuple(tuple(rec.responses[r] for r in g) for g in groups),
            annotator=rec.annotator,
            group=rec.group,
            annotation_id=rec.annotation_id,
        )
    return pairs, listed, ties


def _pairs_from_edit(rec: LabelRecord) -> tuple[list[PreferencePair], int]:
    rid = rec.payload.get("response_id")
    edited = rec.payload.get("edited_text")
    if rid is None or not isinstance(edited, str):
        raise DataError(f"annotation {rec.annotation_id}: edit without response or text")
    original = rec.responses.get(int(rid))
    if original is None:
        raise DataError(f"annotation {rec.annotation_id}: unknown response {rid}")
    if edited.strip() == original.strip():
        return [], 1  # an unchanged edit says the two are equal: a tie
    return [_pair(rec, edited, original, 1.0)], 0


def _pairs_from_ratings(recs: Sequence[LabelRecord]) -> tuple[list[PreferencePair], int]:
    """Pairs inside one annotator's ratings of one prompt's responses (never across people:
    two annotators' scales differ, so only within-annotator differences are comparable)."""
    scores: dict[tuple[str, str], dict[int, tuple[float, LabelRecord]]] = {}
    for rec in recs:
        for rid, attrs in (rec.payload.get("ratings") or {}).items():
            value = attrs.get(rec.overall_attribute) if isinstance(attrs, dict) else None
            if value is None:
                continue
            if int(rid) not in rec.responses:
                raise DataError(f"annotation {rec.annotation_id}: unknown response {rid}")
            # The first rating of a response counts (a re-rating is a consistency probe).
            scores.setdefault((rec.annotator, rec.prompt_key), {}).setdefault(
                int(rid), (float(value), rec)
            )
    pairs: list[PreferencePair] = []
    ties = 0
    for per_response in scores.values():
        for (ra, (va, reca)), (rb, (vb, recb)) in itertools.combinations(
            sorted(per_response.items()), 2
        ):
            if va == vb:
                ties += 1
                continue
            lo, hi = reca.rating_range
            span = max(hi - lo, 1.0)
            (win, wrec, lose, lrec) = (ra, reca, rb, recb) if va > vb else (rb, recb, ra, reca)
            rec = wrec if wrec.annotation_id >= lrec.annotation_id else lrec
            pairs.append(_pair(rec, wrec.responses[win], lrec.responses[lose], abs(va - vb) / span))
    return pairs, ties


def _split_value(prompt_key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{prompt_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _content_key(prompt: Sequence[Message]) -> str:
    text = json.dumps([dict(m) for m in prompt], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def split_prompts(keys: Iterable[str], *, val_fraction: float, seed: int) -> set[str]:
    """The prompt keys on the validation side. With two or more prompts and a positive
    fraction, at least one prompt is held out so validation metrics always exist."""
    unique = sorted(set(keys))
    values = {k: _split_value(k, seed) for k in unique}
    val = {k for k, v in values.items() if v < val_fraction}
    if not val and len(unique) >= 2 and val_fraction > 0:
        val = {min(unique, key=lambda k: values[k])}
    if len(val) == len(unique) and len(unique) >= 2:
        val.discard(max(unique, key=lambda k: values[k]))
    return val


def snapshot_hash(ds: Dataset) -> str:
    h = hashlib.sha256()
    for name in ("train_pairs", "val_pairs", "train_lists", "val_lists"):
        h.update(name.encode())
        for row in getattr(ds, name):
            h.update(json.dumps(asdict(row), sort_keys=True, separators=(",", ":")).encode())
            h.update(b"\n")
    return h.hexdigest()


def build_dataset(
    records: Iterable[LabelRecord], *, val_fraction: float = 0.1, seed: int = 0
) -> Dataset:
    """All label types to pairs and lists, split by prompt, hashed. Output order is fixed
    by annotation id, so the same labels always give the same dataset and hash."""
    pairs: list[PreferencePair] = []
    lists: list[RankedList] = []
    ties = 0
    ratings: list[LabelRecord] = []
    for rec in sorted(records, key=lambda r: r.annotation_id):
        if rec.task_type == "pairwise":
            got, t = _pairs_from_pairwise(rec)
        elif rec.task_type == "ranking":
            got, listed, t = _from_ranking(rec)
            if listed is not None:
                lists.append(listed)
        elif rec.task_type == "edit":
            got, t = _pairs_from_edit(rec)
        elif rec.task_type in ("rating", "conversation") and "ratings" in rec.payload:
            ratings.append(rec)
            continue
        else:
            continue  # critiques and the rest carry no preference by themselves
        pairs.extend(got)
        ties += t
    rated, t = _pairs_from_ratings(ratings)
    pairs.extend(rated)
    ties += t
    pairs = [p for p in pairs if p.chosen != p.rejected]
    pairs.sort(key=lambda p: (p.annotation_id, p.chosen, p.rejected))
    # The split hashes what the prompt says, not its database id: the same labels give
    # the same split on any database (ids depend on what was inserted before), and two
    # prompt rows with the same text never land on both sides.
    content = {p.prompt_key: _content_key(p.prompt) for p in pairs}
    content.update({x.prompt_key: _content_key(x.prompt) for x in lists})
    val_content = split_prompts(content.values(), val_fraction=val_fraction, seed=seed)
    val_keys = {key for key, text in content.items() if text in val_content}
    ds = Dataset(n_dropped_ties=ties)
    for p in pairs:
        (ds.val_pairs if p.prompt_key in val_keys else ds.train_pairs).append(p)
    for x in lists:
        (ds.val_lists if x.prompt_key in val_keys else ds.train_lists).append(x)
    ds.data_hash = snapshot_hash(ds)
    return ds


def prompt_text(prompt: Sequence[Message]) -> str:
    """The last user message: what an encoder sees as the prompt."""
    for m in reversed(prompt):
        if m.get("role") == "user":
            return m.get("content", "")
    return prompt[-1].get("content", "") if prompt else ""


def parse_hh_transcript(text: str) -> tuple[list[Message], str]:
    """Split an Anthropic HH-RLHF transcript into (messages up to the last user turn,
    last assistant reply)."""
    parts = _HH_TURN.split(text)
    messages: list[Message] = []
    # re.split with one group gives ["", role, content, role, content, ...].
    for role, content in zip(parts[1::2], parts[2::2], strict=True):
        messages.append(
            {"role": "user" if role == "Human" else "assistant", "content": content.strip()}
        )
    if not messages or messages[-1]["role"] != "assistant":
        return messages, ""
    last = messages.pop()
    return messages, last["content"]


_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")
