"""E2E step (issue 16, routing): the admin routes the study campaign's items between
people and the AI judge within a small human budget, and people get only what was routed
to them.

Over REST the admin adds three fresh pairwise items and turns routing on with a budget of
one item more than people have already labelled (read from ``analytics --json``); a bad
budget is refused with a 400. The dashboard's "Recompute routing now" button has the
worker compute a plan; exactly one fresh item goes to people, first in the queue, the
other two to the judge. One more simulated annotator then labels the routed item and
never the other two; the Routing tab and ``analytics --json`` show the budget spent.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.e2e.harness import StudyServer, WebUser, expect_json

PROMPTS = (
    ("How do I keep basil alive indoors?", "Water it daily and give it sun.", "Basil hates water."),
    ("What is a haiku?", "A 5-7-5 syllable poem.", "A long epic poem about the sea."),
    ("Name a prime number.", "Seven.", "Nine is prime."),
)


def _routing(server: StudyServer, slug: str) -> dict[str, Any]:
    done = server.manage("analytics", "--campaign", slug, "--json")
    return dict(json.loads(done.stdout)["routing"])


def _campaign_id(server: StudyServer, slug: str) -> int:
    return int(server.db.value(f"SELECT id FROM annotate_campaign WHERE slug = '{slug}'"))


def route_within_budget(
    server: StudyServer, admin: WebUser, admin_api: httpx.Client, slug: str, *, timeout: float = 90
) -> dict[str, Any]:
    """Returns what was measured: the budget, the plan's version and its seconds."""
    items = [
        {
            "task_type": "pairwise",
            "messages": [{"role": "user", "content": prompt}],
            "responses": [{"text": a, "source": "e2e-routing"}, {"text": b, "source": "e2e"}],
            "external_id": f"e2e-routing-{n}",
        }
        for n, (prompt, a, b) in enumerate(PROMPTS)
    ]
    expect_json(admin_api.post(f"/campaigns/{slug}/items/add/", json={"items": items}), 201)
    cid = _campaign_id(server, slug)
    fresh = [
        int(r[0])
        for r in server.db.rows(
            "SELECT i.id FROM annotate_item i JOIN annotate_prompt p ON p.id = i.prompt_id "
            f"WHERE i.campaign_id = {cid} AND p.external_id LIKE 'e2e-routing-%' ORDER BY i.id"
        )
    ]
    assert len(fresh) == 3, fresh

    before = _routing(server, slug)
    assert before["enabled"] is False and before["plan"] is None
    budget = before["budget_used"] + 1
    config = expect_json(admin_api.get(f"/campaigns/{slug}/"))["config"]
    bad = admin_api.patch(
        f"/campaigns/{slug}/configure/",
        json={"config": {**config, "routing": {"enabled": True, "human_budget": -1}}},
    )
    assert bad.status_code == 400 and "routing.human_budget" in bad.text, bad.text
    expect_json(
        admin_api.patch(
            f"/campaigns/{slug}/configure/",
            # The judge step (steps_judges) ran SmolLM2 on two items already; judging every
            # item routed to the AI on two shared cores would only make the run longer
            # (the service test covers the hand-over: tests/annotate/routing).
            json={
                "config": {
                    **config,
                    "routing": {"enabled": True, "human_budget": budget, "judge_routed": False},
                }
            },
        )
    )

    # The admin presses "Recompute routing now" on the Routing tab; a worker computes it.
    tab = admin.http.get(f"/dashboard/{slug}/?tab=routing")
    assert tab.status_code == 200 and "Recompute routing now" in tab.text, tab.text[-2000:]
    token = admin.http.cookies.get("csrftoken")
    asked = time.monotonic()
    pressed = admin.http.post(
        f"/dashboard/{slug}/routing/",
        headers={
            "X-CSRFToken": token or "",
            "HX-Request": "true",
            "Referer": f"{server.url}/dashboard/{slug}/?tab=routing",
        },
    )
    assert pressed.status_code == 200 and "New routing plan queued" in pressed.text, pressed.text
    plan = None
    while time.monotonic() < asked + timeout:
        plan = server.db.rows(
            "SELECT version, n_human, spent, budget FROM annotate_routingplan "
            f"WHERE campaign_id = {cid} AND trigger = 'manual' ORDER BY version DESC LIMIT 1"
        )
        if plan:
            break
        time.sleep(0.5)
    assert plan, "no routing plan from the worker:\n" + server.tail()
    plan_s = time.monotonic() - asked
    version, _, spent, plan_budget = plan[0]
    assert spent == plan_budget == budget

    ids = ", ".join(str(i) for i in fresh)
    routes = dict(
        server.db.rows(
            f"SELECT route, count(*) FROM annotate_item WHERE id IN ({ids}) GROUP BY route"
        )
    )
    assert routes == {"human": 1, "ai": 2}, routes
    ((routed, priority),) = server.db.rows(
        f"SELECT id, priority FROM annotate_item WHERE id IN ({ids}) AND route = 'human'"
    )
    # First in the human queue: no open routable item with a free slot ranks above it.
    above = server.db.value(
        f"SELECT count(*) FROM annotate_item WHERE campaign_id = {cid} AND status = 'open' "
        "AND slots_taken < overlap AND route = 'human' AND task_type IN "
        f"('pairwise', 'ranking', 'rating') AND (priority > {priority} OR "
        f"(priority = {priority} AND id < {routed}))"
    )
    assert priority >= 1.0 and above == 0, (priority, above)

    # One more person: labels the routed item, never the two sent to the judge.
    server.manage(
        "simulate", "--campaign", slug, "--annotators", "1", "--duration", "8",
        "--base-url", server.url, "--seed", "16", timeout=240,
    )  # fmt: skip
    labelled = dict(
        server.db.rows(
            f"SELECT item_id, count(*) FROM annotate_annotation WHERE item_id IN ({ids}) "
            "AND source = 'human' GROUP BY item_id"
        )
    )
    assert set(labelled) == {routed}, labelled

    after = _routing(server, slug)
    assert after["enabled"] and after["plan"]["version"] >= version
    assert after["budget_used"] == budget and after["routed_ai"] >= 2
    page = admin.http.get(f"/dashboard/{slug}/?tab=routing")
    assert page.status_code == 200 and 'data-tab="routing"' in page.text
    return {"budget": budget, "plan_version": version, "plan_s": round(plan_s, 1)}
