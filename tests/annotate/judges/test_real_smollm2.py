"""One real judging run with the packaged SmolLM2-135M-Instruct (offline, CI runs it):
two pairwise items, asked in both orders, a few tokens each. What a 135M model answers
is not graded: every answer must be stored with a status, and the counts must add up."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, Judgment
from modelserve.generation.judging import judge_campaign_run
from tests.annotate.judges.world import judge_world


@pytest.mark.slow
@pytest.mark.django_db
def test_a_real_judge_run_with_smollm2(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    campaign, judge, _ = judge_world(
        n_items=2, config={"judges": {"max_new_tokens": 6, "task_types": ["pairwise"]}}
    )
    judge.endpoint.backend, judge.endpoint.model = "local", "default"
    judge.endpoint.save()
    counts = judge_campaign_run(campaign_id=campaign.pk).judges["sim-judge"]
    assert counts["asked"] == 4 and counts["failed"] == 0, counts
    assert counts["parsed"] + counts["unparsable"] == 4
    judgments = list(Judgment.objects.filter(judge=judge))
    assert len(judgments) == 4
    assert {j.order for j in judgments} == {"AB", "BA"}
    assert all(j.raw_output.strip() for j in judgments)  # the model wrote something
    assert all(j.latency_ms for j in judgments)
    assert all(j.parse_status != "pending" for j in judgments)
    assert Annotation.all_sources.filter(judge=judge).count() == counts["labels"]
