"""Languages over REST: items/add carries them (400 for a bad tag), the item list shows
them, every export shape has a ``language`` column, and exports filter by it."""

from __future__ import annotations

import json
from typing import Any

from annotate.models import Item, Response

SHAPES = ("raw", "trl-preference", "trl-unpaired", "ranking")


def _rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def _french(world: Any) -> set[int]:
    """Make ann_1's items French; ann_2's stay undetermined."""
    ids = {a.item_id for a in world.labels["ann_1"]}
    Item.objects.filter(pk__in=ids).update(language="fr")
    return ids


def test_every_export_shape_carries_the_item_language(world):
    french = _french(world)
    for shape in SHAPES:
        rows = _rows(world.client("res_a").get("/api/v1/campaigns/alpha/export", {"shape": shape}))
        assert rows, shape
        for row in rows:
            expected = "fr" if row["item_id"] in french else "und"
            assert row["language"] == expected, (shape, row)
    raw = _rows(world.client("res_a").get("/api/v1/campaigns/alpha/export", {"shape": "raw"}))
    assert all("language" in r for row in raw for r in row["responses"])


def test_exports_and_annotations_filter_by_language(world):
    french = _french(world)
    client = world.client("res_a")
    rows = _rows(client.get("/api/v1/campaigns/alpha/export", {"language": "FR"}))
    assert {r["item_id"] for r in rows} == french
    page = client.get("/api/v1/annotations/", {"campaign": "alpha", "language": "und"}).json()
    assert page["results"] and all(r["item"] not in french for r in page["results"])
    bad = client.get("/api/v1/campaigns/alpha/export", {"language": "français"})
    assert bad.status_code == 400 and "language" in bad.json()


def test_items_add_takes_a_language_and_refuses_a_bad_one(world):
    client = world.client("admin")
    item = {
        "task_type": "pairwise",
        "messages": [{"role": "user", "content": "Wie funktionieren Gezeiten?"}],
        "responses": [{"text": "Der Mond."}, {"text": "The moon.", "language": "en"}],
        "language": "de-AT",
    }
    created = client.post("/api/v1/campaigns/alpha/items/add/", {"items": [item]}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["ids"][0]
    assert Item.objects.get(pk=pk).language == "de-at"
    assert sorted(
        Response.objects.filter(prompt__items__pk=pk).values_list("language", flat=True)
    ) == ["de-at", "en"]
    shown = client.get(f"/api/v1/campaigns/alpha/items/{pk}/").json()
    assert shown["language"] == "de-at"
    assert [r["language"] for r in shown["responses"]] == ["de-at", "en"]
    bad = client.post(
        "/api/v1/campaigns/alpha/items/add/",
        {"items": [{**item, "language": "deutsch!"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "language" in json.dumps(bad.json())


def test_conversation_slots_take_a_language(world):
    client = world.client("admin")
    made = client.post(
        "/api/v1/campaigns/alpha/conversations/add/", {"n": 2, "language": "zh-Hans"}, format="json"
    )
    assert made.status_code == 201, made.content
    assert set(
        Item.objects.filter(pk__in=made.json()["ids"]).values_list("language", flat=True)
    ) == {"zh-hans"}
    bad = client.post(
        "/api/v1/campaigns/alpha/conversations/add/", {"n": 1, "language": "?"}, format="json"
    )
    assert bad.status_code == 400 and "language" in bad.json()
