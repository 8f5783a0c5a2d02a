"""Ranking answers parse totally; the judge command's errors are clear; the job runs as
a Celery task."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from annotate.analytics.judge_ranking import parse_ranking
from annotate.models import Annotation, Judgment
from annotate.services.judges import judge_job_enqueue
from tests.annotate.judges.world import judge_world
from tests.factories import ModelEndpointFactory


@pytest.mark.parametrize(
    ("text", "status", "answer"),
    [
        ("[[2, 1, 3]]", "ok", [2, 1, 3]),
        ("The ranking is 3 > 1 > 2.", "ok", [3, 1, 2]),
        ("[[1, 2]]", "out_of_range", [1, 2]),
        ("[[1, 1, 2]]", "out_of_range", [1, 1, 2]),
        ("[[1, 2, 3]] or maybe [[3, 2, 1]]", "ambiguous", None),
        ("no idea", "unparsable", None),
        ("   ", "empty", None),
        (None, "unparsable", None),
        (b"[[3,2,1]]", "ok", [3, 2, 1]),
        ("x" * 100_000, "unparsable", None),
    ],
)
def test_parse_ranking(text: object, status: str, answer: list[int] | None) -> None:
    parsed = parse_ranking(text, n=3)
    assert parsed.status == status
    if status in ("ok", "out_of_range"):
        assert parsed.answer == answer


@pytest.mark.django_db
def test_judge_command_errors_and_run() -> None:
    with pytest.raises(CommandError, match="no campaign"):
        call_command("judge", campaign="nope")
    campaign, judge, _ = judge_world(n_items=2)
    with pytest.raises(CommandError, match="positive integer"):
        call_command("judge", campaign=campaign.slug, limit="0")
    with pytest.raises(CommandError, match="no enabled judge named"):
        call_command("judge", campaign=campaign.slug, judge=["other"])
    with pytest.raises(CommandError, match="needs --endpoint"):
        call_command("judge", campaign=campaign.slug, attach="second")
    with pytest.raises(CommandError, match="no model endpoint"):
        call_command("judge", campaign=campaign.slug, attach="second", endpoint="missing")
    out = StringIO()
    call_command("judge", campaign=campaign.slug, limit="1", json=True, stdout=out)
    assert json.loads(out.getvalue())["sim-judge"]["items"] == 1
    endpoint = ModelEndpointFactory(backend="sim", model="sim", params={})
    out = StringIO()
    call_command(
        "judge", campaign=campaign.slug, attach="second", endpoint=endpoint.name, stdout=out
    )
    assert "second" in out.getvalue() and "AI labels" in out.getvalue()
    judge.enabled = False
    judge.save()
    judge.refresh_from_db()
    campaign.judges.all().update(enabled=False)
    with pytest.raises(CommandError, match="no enabled judge"):
        call_command("judge", campaign=campaign.slug)


@pytest.mark.django_db
def test_the_job_is_a_celery_task(monkeypatch, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from modelserve.generation.tasks import generate_judgments

    sent: list[tuple] = []
    monkeypatch.setattr(
        "annotate.services.judges.enqueue", lambda name, *a, **kw: sent.append((name, a, kw))
    )
    campaign, judge, _ = judge_world(n_items=2)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        judge_job_enqueue(campaign=campaign, judge_ids=[judge.pk], limit=5)
    assert sent == [
        (
            "modelserve.tasks.generate_judgments",
            (campaign.pk,),
            {"judge_ids": [judge.pk], "item_ids": None, "limit": 5},
        )
    ]
    name, args, kwargs = sent[0]
    assert generate_judgments.name == name
    result = generate_judgments.apply(args=args, kwargs=kwargs).get()
    assert result["sim-judge"]["labels"] == 2
    assert Judgment.objects.filter(judge=judge).count() == 4
    assert Annotation.all_sources.filter(judge=judge).count() == 2
