"""Judge labels never mix with human labels unless asked (issue 16), and the exports
and annotation API give them on request with their source, judge and prompt version."""

from __future__ import annotations

import json
from typing import Any

from annotate.analytics.report import campaign_report
from annotate.exports.privacy import privacy_settings
from annotate.exports.schemas import columns_for
from annotate.models import Annotation, Item
from annotate.selectors.analytics import analytics_options, campaign_analytics_data
from annotate.selectors.annotators import annotator_profiles
from annotate.services.judges import judge_create
from modelserve.generation.judging import judge_campaign_run
from modelserve.learning.selectors import new_label_count
from modelserve.learning.snapshots import training_records
from tests.factories import ModelEndpointFactory


def _export(world: Any, who: str = "res_a", **params: Any) -> Any:
    return world.client(who).get("/api/v1/campaigns/alpha/export", params)


def _jsonl(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def _consumers(world: Any) -> dict[str, Any]:
    """What every existing consumer reads of campaign alpha (ids and volatile keys out)."""
    campaign = world.alpha
    options = analytics_options(campaign)
    report = campaign_report(
        campaign_analytics_data(campaign=campaign, group_fields=options.group_fields), options
    )
    report.pop("judges", None)
    report.pop("duration_ms", None)
    raw = [
        {k: v for k, v in r.items() if k != "created_at"}
        for r in _jsonl(_export(world, shape="raw"))
    ]
    return {
        "report": json.loads(json.dumps(report, default=str)),
        "raw": raw,
        "trl": _jsonl(_export(world, shape="trl-preference")),
        "unpaired": _jsonl(_export(world, shape="trl-unpaired")),
        "refit": [repr(r) for r in training_records(campaign=campaign)],
        "new_labels": new_label_count(campaign=campaign, kind="reward"),
        "profiles": annotator_profiles(
            campaign=campaign, privacy=privacy_settings(campaign.config), limit=100
        ),
        "api": world.client("res_a").get("/api/v1/annotations/", {"campaign": "alpha"}).json(),
        "counts": list(
            Item.objects.filter(campaign=campaign)
            .order_by("id")
            .values_list("slots_taken", "n_submitted")
        ),
    }


def _judge_alpha(world: Any) -> Any:
    endpoint = ModelEndpointFactory(backend="sim", model="sim", params={})
    judge = judge_create(campaign=world.alpha, name="sim-judge", endpoint=endpoint)
    report = judge_campaign_run(campaign_id=world.alpha.pk)
    assert report.judges["sim-judge"]["labels"] > 0
    return judge


def test_adding_judge_labels_changes_no_human_consumer(world) -> None:
    before = _consumers(world)
    judge = _judge_alpha(world)
    assert Annotation.all_sources.filter(judge=judge).count() >= 4
    after = _consumers(world)
    for key in before:
        assert after[key] == before[key], key


def test_source_filter_on_exports_and_the_annotation_api(world) -> None:
    judge = _judge_alpha(world)
    n_ai = Annotation.all_sources.filter(judge=judge).count()
    ai = _jsonl(_export(world, shape="raw", source="ai"))
    assert len(ai) == n_ai
    assert {r["source"] for r in ai} == {"ai"}
    assert {r["judge"] for r in ai} == {"sim-judge"}
    assert {r["judge_prompt_version"] for r in ai} == {1}
    assert {r["annotator_id"] for r in ai} == {judge.annotator.pseudonym}
    human = _jsonl(_export(world, shape="raw"))
    assert {r["source"] for r in human} == {"human"} and {r["judge"] for r in human} == {None}
    both = _jsonl(_export(world, shape="raw", source="all"))
    assert len(both) == len(human) + n_ai
    assert len(_jsonl(_export(world, shape="raw", source="human,ai"))) == len(both)
    # The TRL preference export takes human, ai or both labels.
    trl_both = _jsonl(_export(world, shape="trl-preference", source="all"))
    assert {r["label_source"] for r in trl_both} == {"human", "ai"}
    trl_ai = _jsonl(_export(world, shape="trl-preference", source="ai"))
    assert trl_ai and {r["judge"] for r in trl_ai} == {"sim-judge"}
    assert set(trl_ai[0]) == {c.name for c in columns_for("trl-preference")}
    # The annotation list API.
    api = world.client("res_a").get("/api/v1/annotations/", {"campaign": "alpha", "source": "ai"})
    assert api.status_code == 200
    results = api.json()["results"]
    assert len(results) == n_ai and {r["source"] for r in results} == {"ai"}
    assert {r["judge"] for r in results} == {"sim-judge"}


def test_bad_source_is_a_400(world) -> None:
    for params in ({"source": "robots"}, {"source": "human,x"}):
        response = _export(world, shape="raw", **params)
        assert response.status_code == 400, response.content
        assert "source" in response.json()
    api = world.client("res_a").get("/api/v1/annotations/", {"campaign": "alpha", "source": "z"})
    assert api.status_code == 400


def test_annotators_do_not_see_ai_labels_as_their_own(world) -> None:
    _judge_alpha(world)
    mine = world.client("ann_1").get("/api/v1/annotations/", {"source": "all"}).json()["results"]
    assert mine and {r["source"] for r in mine} == {"human"}
