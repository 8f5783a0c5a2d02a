"""Issue 14, e2e: the exports the researcher downloads are the labels, row for row.

The fast read path (PostgreSQL: bare cursor, orjson, array parameters) and the ORM path
(embedded mode: SQLite) must both give every label exactly once: the raw export's
annotation ids are the campaign's, the trl-preference pairs from pairwise labels are
exactly the labels that chose a side, and the export record's row count and SHA-256
describe the bytes that arrived.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.e2e.harness import StudyServer, expect_json


def _labels(server: StudyServer, slug: str) -> list[tuple[int, str, dict[str, Any]]]:
    rows = server.db.rows(
        "SELECT a.id, a.task_type, a.payload FROM annotate_annotation a "
        f"JOIN annotate_campaign c ON c.id = a.campaign_id WHERE c.slug = '{slug}'"
    )
    return [(pk, task, json.loads(p) if isinstance(p, str) else p) for pk, task, p in rows]


def _download(api: Any, slug: str, shape: str) -> tuple[bytes, list[dict[str, Any]], str]:
    answer = api.get(f"/campaigns/{slug}/export", params={"shape": shape, "format": "jsonl"})
    assert answer.status_code == 200, answer.text[:1500]
    lines = [json.loads(line) for line in answer.content.decode().splitlines() if line.strip()]
    return answer.content, lines, answer.headers["X-Chorus-Export-Id"]


def exports_match_labels(server: StudyServer, api: Any, slug: str) -> dict[str, int]:
    labels = _labels(server, slug)
    assert labels, f"{slug}: no labels"
    _, raw, _ = _download(api, slug, "raw")
    assert sorted(r["annotation_id"] for r in raw) == sorted(pk for pk, _, _ in labels)
    body, pairs, export_id = _download(api, slug, "trl-preference")
    chose = {pk for pk, task, p in labels if task == "pairwise" and p.get("chosen") is not None}
    from_pairwise = [r["annotation_id"] for r in pairs if r["source"] == "pairwise"]
    assert sorted(from_pairwise) == sorted(chose), f"{slug}: pairwise pairs differ from labels"
    record = expect_json(api.get(f"/exports/{export_id}/"))
    assert record["row_count"] == len(pairs)
    assert record["sha256"] == hashlib.sha256(body).hexdigest()
    return {"labels": len(labels), "pairs": len(pairs), "pairwise_pairs": len(from_pairwise)}
