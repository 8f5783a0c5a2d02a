"""The PRISM-style release: survey, conversations and utterances files. Pure: no Django.

Layout (after Kirk et al., "The PRISM Alignment Dataset", 2024), one file each, zipped:

- ``survey``: one row per annotator (pseudonymous id) and profile version, with the
  profile fields the campaign's privacy setting allows, k-suppressed;
- ``conversations``: one row per conversation that received labels: who opened it (for
  live chats), the opening prompt, the longest history seen, the number of rated
  utterances and the closing attribute ratings and free-text feedback, if any;
- ``utterances``: one row per (annotation, response) judged inside a conversation: the
  user prompt at that turn, the model response, its model label, ``score`` (the rating
  on the campaign's overall attribute; for a ranking, the rank, 1 = best) or ``chosen``
  (pairwise).

Utterances stream; the conversations summary holds one small dict per conversation (the
number of conversations is far below the number of labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class ConversationSummary:
    """Accumulates the per-conversation facts while utterances stream past."""

    def __init__(self) -> None:
        self.by_id: dict[int, dict[str, Any]] = {}

    def see(self, row: Mapping[str, Any]) -> None:
        cid = row.get("conversation_id")
        if cid is None:
            return
        entry = self.by_id.setdefault(
            cid,
            {
                "conversation_id": cid,
                "annotator_id": None,
                "language": row.get("language") or "und",
                "opening_prompt": None,
                "opening_depth": None,
                "conversation_history": [],
                "n_utterances": 0,
                "attributes": None,
                "feedback": None,
            },
        )
        depth = row.get("turn_depth") or 0
        if row["task_type"] != "conversation" and (
            entry["opening_depth"] is None or depth < entry["opening_depth"]
        ):
            entry["opening_depth"] = depth
            entry["opening_prompt"] = row["prompt"]
        if len(row.get("messages") or []) > len(entry["conversation_history"]):
            entry["conversation_history"] = list(row["messages"])
        if row["task_type"] == "conversation":
            entry["annotator_id"] = row["annotator_id"]
            entry["attributes"] = row["payload"].get("attributes") or {}
            entry["feedback"] = row["payload"].get("feedback") or ""

    def rows(self, meta: Mapping[int, Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for cid in sorted(self.by_id):
            entry = dict(self.by_id[cid])
            info = meta.get(cid, {})
            entry["source"] = info.get("source", "")
            if entry["annotator_id"] is None:
                entry["annotator_id"] = info.get("created_by__annotator__pseudonym")
            entry.pop("opening_depth")
            history = entry["conversation_history"]
            if history:
                entry["opening_prompt"] = history[0].get("content", entry["opening_prompt"])
            yield entry


def utterance_rows(
    rows: Iterable[Mapping[str, Any]], summary: ConversationSummary, *, overall: str
) -> Iterator[dict[str, Any]]:
    """Utterance rows for labels given inside conversations; feeds ``summary``."""
    for row in rows:
        if row.get("conversation_id") is None and row["task_type"] == "conversation":
            # Live-chat closing feedback names its conversation in the payload.
            row = {**row, "conversation_id": row["payload"].get("conversation_id")}
        if row.get("conversation_id") is None:
            continue
        summary.see(row)
        task, payload = row["task_type"], row["payload"]
        scores: dict[int, float] = {}
        chosen: dict[int, bool] = {}
        if task == "rating":
            for rid, values in (payload.get("ratings") or {}).items():
                if isinstance(values, Mapping) and values.get(overall) is not None:
                    scores[int(rid)] = float(values[overall])
        elif task == "pairwise" and payload.get("chosen") is not None:
            chosen = {payload["chosen"]: True, payload["rejected"]: False}
        elif task == "bws" and payload.get("best") is not None:
            chosen = {payload["best"]: True, payload["worst"]: False}
        elif task == "ranking":
            for rank, group in enumerate(payload.get("ranking") or []):
                for rid in group:
                    scores[int(rid)] = float(rank + 1)
        else:
            continue
        for response in row["responses"]:
            rid = response["id"]
            if rid not in scores and rid not in chosen:
                continue
            yield {
                "utterance_id": f"{row['annotation_id']}-{rid}",
                "conversation_id": row["conversation_id"],
                "annotation_id": row["annotation_id"],
                "annotator_id": row["annotator_id"],
                "turn": (row.get("turn_depth") or 0) // 2,
                "task_type": task,
                "user_prompt": row["prompt"],
                "response_id": rid,
                "model": response["model"],
                "model_response": response["text"],
                "score": scores.get(rid),
                "chosen": chosen.get(rid),
                "language": row.get("language") or "und",
            }
            summary.by_id[row["conversation_id"]]["n_utterances"] += 1
