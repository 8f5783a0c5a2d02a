"""The fixed statistics reach the report (``analytics --json`` and the dashboard)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from annotate.analytics import agreement as ag
from annotate.analytics import consistency as cons
from annotate.analytics.bradley_terry import bradley_terry
from annotate.analytics.report import (
    ReportOptions,
    campaign_report,
    consistency_section,
    implied_pairs,
    label_order,
)
from annotate.analytics.resample import expanded_percentile_interval

_BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_analytics.py"


@pytest.fixture(scope="module")
def data():
    spec = importlib.util.spec_from_file_location("bench_analytics", _BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic(6000, 40, 600, seed=2)


@pytest.fixture(scope="module")
def report(data):
    return campaign_report(data, ReportOptions(n_boot=100, seed=3))


def test_consistency_interval_resamples_annotators(data, report):
    opts = ReportOptions(n_boot=100, seed=3)
    _, within = consistency_section(data, implied_pairs(data), label_order(data), opts)
    agree = (within.implied == within.judged).astype(np.float64)
    n_ann = len(np.unique(within.annotator))
    expect = expanded_percentile_interval(
        cons.annotator_bootstrap_rate(within.annotator, agree, 100, 3), n_ann
    )
    got = report["consistency"]["within_annotator"]
    assert got["n_annotators"] == n_ann == 40
    assert got["ci"] == pytest.approx(expect, abs=1e-6)
    assert got["ci"][0] < got["rate"] < got["ci"][1]
    for row in report["consistency"]["per_group"]["gender"]:
        assert row["n_annotators"] >= 1 and row["ci"][0] <= row["rate"] <= row["ci"][1]


def test_leaderboard_resamples_labels_and_reports_davidson_ties(data, report):
    board = report["leaderboard"]
    pairs = implied_pairs(data)
    ma, mb = data.response_model[pairs.a], data.response_model[pairs.b]
    cross = ma != mb
    assert board["n_resampled_labels"] == len(np.unique(pairs.label[cross]))
    # Rankings imply 3 pairs each: fewer units than battles.
    assert board["n_resampled_labels"] < board["n_battles"]
    assert {r["model"] for r in board["overall_davidson"]} == {r["model"] for r in board["overall"]}
    score = (pairs.outcome + 1) / 2.0
    dav = bradley_terry(ma, mb, score, len(data.model_names), 0, ties="davidson")
    top = max(board["overall_davidson"], key=lambda r: r["rating"])
    assert top["rating"] == pytest.approx(float(dav.strength.max()), abs=0.01)
    nu = board["davidson_nu"]
    assert nu["value"] == pytest.approx(dav.nu, abs=1e-5)
    assert nu["ci"][0] < nu["value"] < nu["ci"][1]


def test_pairwise_agreement_reports_ordinal_alpha(data, report):
    lo_first = data.pw_a <= data.pw_b
    cats = 1 - np.where(lo_first, data.pw_outcome, -data.pw_outcome)
    counts = ag.category_counts(data.label_item[data.pw_label], cats, 3)
    counts = counts[counts.sum(axis=1) >= 2]
    expect = ag.alpha_from_data(ag.AlphaData(counts, np.arange(3.0), "ordinal"))
    block = report["agreement"]["pairwise"]
    assert block["alpha_ordinal"]["value"] == pytest.approx(expect, abs=1e-6)
    assert block["alpha_ordinal"]["ci"][0] < expect < block["alpha_ordinal"]["ci"][1]
    assert block["alpha_ordinal"]["value"] != pytest.approx(block["alpha_nominal"]["value"])
