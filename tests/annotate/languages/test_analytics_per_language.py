"""Every analytics section per item language, on simulated data whose truth is known:
French raters prefer model 0 over 1 over 2, German raters the reverse."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotate.analytics.data import CampaignData
from annotate.analytics.report import ReportOptions, campaign_report
from annotate.services import annotation_submit, assignment_next
from annotate.services.analytics import analytics_snapshot_compute
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory, UserFactory

TRUTH = {"fr": np.array([1.5, 0.0, -1.5]), "de": np.array([-1.5, 0.0, 1.5])}
OPTS = ReportOptions(n_boot=50, seed=1, group_fields=())


def _simulate(languages, n_items=120, overlap=3, n_people=12, seed=0):
    """Pairwise labels under a Bradley-Terry truth per language: (language, item,
    annotator, model a, model b, outcome) rows, annotators distinct per language."""
    rng = np.random.default_rng(seed)
    rows = []
    for li, language in enumerate(languages):
        strength = TRUTH[language]
        for item in range(n_items):
            a, b = rng.choice(3, size=2, replace=False)
            p_a = 1 / (1 + np.exp(strength[b] - strength[a]))
            people = rng.choice(n_people, size=overlap, replace=False)
            for person in people:
                outcome = 1 if rng.random() < p_a else -1
                rows.append((language, li * 10_000 + item, f"{language}-{person}", a, b, outcome))
    return rows


def _data(rows) -> CampaignData:
    """CampaignData as the selector builds it: one pair of responses per item."""
    people = sorted({r[2] for r in rows})
    items = sorted({r[1] for r in rows})
    languages = sorted({r[0] for r in rows})
    item_code = {item: i for i, item in enumerate(items)}
    n = len(rows)
    d = CampaignData(attributes=["helpfulness"], campaign={"slug": "sim"})
    d.annotator_names = people
    d.annotator_paused = [False] * len(people)
    d.label_id = np.arange(1, n + 1, dtype=np.int64)
    d.label_annotator = np.array([people.index(r[2]) for r in rows], dtype=np.int64)
    d.label_item = np.array([r[1] for r in rows], dtype=np.int64)
    d.label_task = np.zeros(n, dtype=np.int64)
    d.label_time_ms = np.full(n, 3000.0)
    d.label_created = np.arange(n, dtype=np.float64)
    d.label_gold = np.full(n, -1, dtype=np.int64)
    d.label_attention = np.full(n, -1, dtype=np.int64)
    d.label_language = np.array([languages.index(r[0]) for r in rows], dtype=np.int64)
    d.language_names = languages
    # Responses: two per item (codes 2i, 2i+1), from the item's two models.
    models = {}
    for r in rows:
        models[item_code[r[1]]] = (r[3], r[4])
    d.response_id = np.arange(2 * len(items), dtype=np.int64) + 100
    d.response_canonical = np.arange(2 * len(items), dtype=np.int64)
    d.response_model = np.array(
        [models[i][k] for i in range(len(items)) for k in (0, 1)], dtype=np.int64
    )
    d.model_names = ["model-0", "model-1", "model-2"]
    d.pw_label = np.arange(n, dtype=np.int64)
    d.pw_a = np.array([2 * item_code[r[1]] for r in rows], dtype=np.int64)
    d.pw_b = d.pw_a + 1
    d.pw_outcome = np.array([r[5] for r in rows], dtype=np.int64)
    d.pw_strength = np.full(n, np.nan)
    d.progress = {
        "items": {"total": len(items)},
        "by_language": {
            lang: {"items": {"total": len({r[1] for r in rows if r[0] == lang})}}
            for lang in languages
        },
    }
    return d


def _order(board):
    return [row["model"] for row in sorted(board, key=lambda r: -r["rating"])]


def test_each_language_recovers_its_own_truth():
    rows = _simulate(["fr", "de"])
    report = campaign_report(_data(rows), OPTS)
    per = report["per_language"]
    assert set(per) == {"fr", "de"}
    assert per["fr"]["n_labels"] + per["de"]["n_labels"] == report["n_labels"] == len(rows)
    assert _order(per["fr"]["leaderboard"]["overall"]) == ["model-0", "model-1", "model-2"]
    assert _order(per["de"]["leaderboard"]["overall"]) == ["model-2", "model-1", "model-0"]
    # Pooled, the opposite preferences cancel: the overall spread is far smaller.
    spread = {
        k: np.ptp([r["rating"] for r in b["leaderboard"]["overall"]])
        for k, b in [("all", report), ("fr", per["fr"]), ("de", per["de"])]
    }
    assert spread["all"] < spread["fr"] / 3 and spread["all"] < spread["de"] / 3
    assert per["fr"]["progress"]["items"]["total"] == 120
    for section in ("agreement", "consistency", "annotators", "demographics", "progress"):
        assert section in per["fr"] and section in per["de"]


def test_a_language_section_equals_the_report_of_that_language_alone():
    rows = _simulate(["fr", "de"], seed=4)
    both = campaign_report(_data(rows), OPTS)["per_language"]["de"]
    alone = campaign_report(_data([r for r in rows if r[0] == "de"]), OPTS)
    for section in ("agreement", "leaderboard", "consistency", "n_annotators", "n_items_labelled"):
        assert both[section] == alone[section], section
    assert alone["per_language"]["de"]["leaderboard"] == alone["leaderboard"]


@pytest.mark.django_db
def test_analytics_json_splits_by_language():
    campaign = CampaignFactory(overlap=2)
    for language in ("fr", "fr", "en"):
        ItemFactory(campaign=campaign, language=language)
    for _ in range(2):
        annotator = AnnotatorFactory()
        while (lease := assignment_next(annotator=annotator, campaign=campaign)) is not None:
            annotation_submit(assignment_id=lease.pk, annotator=annotator, payload={"choice": "A"})
    out = StringIO()
    call_command("analytics", campaign=campaign.slug, json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["n_labels"] == 6
    assert {k: v["n_labels"] for k, v in report["per_language"].items()} == {"en": 2, "fr": 4}
    assert report["per_language"]["fr"]["progress"]["items"] == {"total": 2, "complete": 2}
    assert report["progress"]["by_language"]["en"]["items"]["total"] == 1
    fr = report["per_language"]["fr"]["agreement"]["pairwise"]
    assert fr["n_items"] == 2


@pytest.mark.django_db
def test_dashboard_progress_tab_has_a_by_language_table(client):
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign, language="fr")
    ItemFactory(campaign=campaign, language="de")
    annotator = AnnotatorFactory()
    while (lease := assignment_next(annotator=annotator, campaign=campaign)) is not None:
        annotation_submit(assignment_id=lease.pk, annotator=annotator, payload={"choice": "B"})
    analytics_snapshot_compute(campaign_id=campaign.pk)
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("dashboard:campaign", args=[campaign.slug]) + "?tab=progress")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dash-languages"' in html
    assert "<td>de</td>" in html and "<td>fr</td>" in html
