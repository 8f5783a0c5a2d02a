"""E2E step (issue 16): an AI judge labels a few study items with the real SmolLM2.

The admin attaches a judge on the packaged model and runs it over two items with
``manage.py judge`` (pairwise items are asked in both orders). Then, from outside: every
answer is stored as a judgment (parsed or not), the dashboard's Judges tab shows the
judge and its parse counts, the export with ``source=ai`` holds exactly the AI labels
(named by judge and prompt version), the default export still holds human labels only,
and a bad ``source`` is a 400.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import StudyServer, WebUser

JUDGE = "smol-judge"
ITEMS = 2


def judge_study(server: StudyServer, admin: WebUser, researcher_api: Any, slug: str) -> int:
    """Returns the number of AI labels the judge added."""
    endpoint = server.db.value(
        "SELECT name FROM modelserve_modelendpoint WHERE backend = 'local' "
        "AND model = 'default' ORDER BY id LIMIT 1"
    )
    assert endpoint, "no endpoint on the packaged SmolLM2"
    humans_before = server.db.value(
        "SELECT count(*) FROM annotate_annotation a JOIN annotate_campaign c "
        f"ON c.id = a.campaign_id WHERE c.slug = '{slug}' AND a.source = 'human'"
    )
    done = server.manage(
        "judge",
        "--campaign",
        slug,
        "--attach",
        JUDGE,
        "--endpoint",
        endpoint,
        "--policy",
        "first",
        "--limit",
        str(ITEMS),
        "--json",
        timeout=600,
    )
    counts = json.loads(done.stdout.strip().splitlines()[-1])[JUDGE]
    assert counts["items"] == ITEMS, counts
    assert counts["asked"] >= ITEMS, counts
    assert counts["parsed"] + counts["unparsable"] + counts["failed"] == counts["asked"]
    stored = server.db.rows(
        "SELECT j.parse_status, j.raw_output FROM annotate_judgment j "
        "JOIN annotate_judge g ON g.id = j.judge_id "
        f"WHERE g.name = '{JUDGE}'"
    )
    assert len(stored) == counts["asked"]
    assert all(status != "pending" for status, _ in stored)
    assert all(raw.strip() for status, raw in stored if status != "failed"), stored
    ai_labels = server.db.value(
        "SELECT count(*) FROM annotate_annotation a JOIN annotate_judge g "
        f"ON g.id = a.judge_id WHERE g.name = '{JUDGE}' AND a.source = 'ai' "
        "AND a.assignment_id IS NULL"
    )
    assert ai_labels == counts["labels"]

    # The dashboard's Judges tab (after a recompute, as the admin's button does).
    server.manage("analytics", "--campaign", slug, "--save")
    page = admin.http.get(f"/dashboard/{slug}/?tab=judges")
    assert page.status_code == 200
    assert f'data-judge="{JUDGE}"' in page.text
    assert f"Judgments: {counts['asked']}" in page.text

    # Exports: AI labels on request, with their judge and prompt version.
    ai = researcher_api.get(f"/campaigns/{slug}/export", params={"shape": "raw", "source": "ai"})
    assert ai.status_code == 200, ai.text[:2000]
    rows = [json.loads(line) for line in ai.text.splitlines() if line.strip()]
    assert len(rows) == ai_labels
    assert all(r["source"] == "ai" and r["judge"] == JUDGE for r in rows)
    assert all(r["judge_prompt_version"] == 1 for r in rows)
    human = researcher_api.get(f"/campaigns/{slug}/export", params={"shape": "raw"})
    assert human.status_code == 200
    human_rows = [json.loads(line) for line in human.text.splitlines() if line.strip()]
    assert len(human_rows) == humans_before
    assert {r["source"] for r in human_rows} == {"human"}
    bad = researcher_api.get(f"/campaigns/{slug}/export", params={"source": "robots"})
    assert bad.status_code == 400 and "source" in bad.json()
    return int(ai_labels)
