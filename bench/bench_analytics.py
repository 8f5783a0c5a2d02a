"""Benchmark: all campaign analytics for 1,000,000 labels, 2,000 annotators, 100,000 items.

Builds a synthetic campaign straight into ``CampaignData`` arrays (what the selector
produces from the database) and times ``campaign_report`` end to end: agreement with
bootstrap intervals for every task type, Cohen's kappa for every annotator pair,
ratings-vs-rankings consistency, Bradley-Terry leaderboards with bootstrap intervals
(overall and per group), annotator quality and demographics. Then times the
``krippendorff`` package on the same rating data and prints the ratio.

Then (issue 14), unless ``--skip-db``: loads the 1,000,000 labels of bench/bench_export.py's
database (built there on first use; ``BENCH_ROWS`` or ``--db-rows`` for fewer) from
PostgreSQL with ``campaign_analytics_data`` (binary COPY of plain columns into numpy) and
times load, report and peak RSS end to end, then says whether issue 14's goal is met: 2 us
per label or less to load, under 6 s and 500 MB for load and report together.

Usage: .venv/bin/python bench/bench_analytics.py [--labels N] [--boot B] [--skip-db]
Prints plain "name: value" lines and exits 0 (target: report under 10 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotate.analytics import agreement as ag
from annotate.analytics.data import TASK_TYPES, CampaignData
from annotate.analytics.report import ReportOptions, campaign_report


def synthetic(n_labels: int, n_annotators: int, n_items: int, seed: int = 0) -> CampaignData:
    rng = np.random.default_rng(seed)
    per_item = n_labels // n_items  # labels per item (overlap)
    n_pw, n_rt = int(n_items * 0.5), int(n_items * 0.4)
    n_rk = n_items - n_pw - n_rt
    n_models = 8
    quality = rng.normal(size=n_models)
    # Responses: 2 per pairwise item, 3 per ranking item; rating items re-rate pairwise ones.
    n_resp = 2 * n_pw + 3 * n_rk
    resp_model = rng.integers(0, n_models, n_resp)
    resp_quality = quality[resp_model] + rng.normal(scale=0.5, size=n_resp)
    task = np.r_[np.zeros(n_pw, int), np.full(n_rt, 2), np.ones(n_rk, int)]  # item task codes
    # Annotators per item: distinct, from a random window of the pool.
    # Cumulative random steps keep an item's annotators distinct (steps sum < pool size).
    # Rating item j shares the annotators of pairwise item j // 2 (whose response it
    # rates), so within-annotator consistency has pairs to compare.
    offs = rng.integers(0, n_annotators, n_items)
    offs[n_pw : n_pw + n_rt] = offs[np.arange(n_rt) // 2]
    steps = np.cumsum(rng.integers(1, 50, size=(n_items, per_item)), axis=1)
    steps[n_pw : n_pw + n_rt] = steps[np.arange(n_rt) // 2]
    ann = ((offs[:, None] + steps) % n_annotators).ravel()
    item = np.repeat(np.arange(n_items), per_item)
    n = len(item)
    created = 1.7e9 + np.sort(rng.uniform(0, 5 * 86400, n))
    d = CampaignData(
        annotator_names=[f"ann_{i:05d}" for i in range(n_annotators)],
        annotator_paused=[False] * n_annotators,
        label_id=np.arange(n, dtype=np.int64),
        label_annotator=ann.astype(np.int64),
        label_item=item.astype(np.int64),
        label_task=task[item].astype(np.int64),
        label_time_ms=rng.gamma(2.0, 15000.0, n),
        label_created=created,
        label_gold=np.where(rng.random(n) < 0.02, (rng.random(n) < 0.8).astype(int), -1),
        label_attention=np.where(rng.random(n) < 0.01, (rng.random(n) < 0.9).astype(int), -1),
        response_id=np.arange(n_resp, dtype=np.int64),
        response_canonical=np.arange(n_resp, dtype=np.int64),
        response_model=resp_model.astype(np.int64),
        model_names=[f"model-{m}" for m in range(n_models)],
        attributes=["helpfulness", "factuality"],
        overall_attribute="helpfulness",
        rating_range=(1, 7),
        progress={"items": {"total": n_items}},
        campaign={"slug": "bench"},
    )
    for name, k in (("age_band", 6), ("gender", 3), ("residence_country", 20)):
        codes = rng.integers(0, k, n_annotators).astype(np.int64)
        d.annotator_groups[name] = (codes, [f"{name}-{g}" for g in range(k)])
        d.label_groups[name] = (codes[ann], [f"{name}-{g}" for g in range(k)])
    noise = rng.normal(scale=0.8, size=n)
    # Pairwise labels.
    pw = np.flatnonzero(task[item] == 0)
    a, b = 2 * item[pw], 2 * item[pw] + 1
    swap = rng.random(len(pw)) < 0.5
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    diff = resp_quality[a] - resp_quality[b] + noise[pw]
    d.pw_label, d.pw_a, d.pw_b = pw, a, b
    d.pw_outcome = np.where(diff > 0.3, 1, np.where(diff < -0.3, -1, 0)).astype(np.int64)
    d.pw_strength = np.clip(np.rint(-diff * 1.5), -3, 3)
    # Rating labels: rating item j rates response j of the pairwise pool, two attributes.
    rt = np.flatnonzero(task[item] == 2)
    resp = item[rt] - n_pw  # response j belongs to pairwise item j // 2
    value = np.clip(np.rint(4 + 1.2 * resp_quality[resp] + noise[rt]), 1, 7)
    d.rt_label = np.r_[rt, rt]
    d.rt_response = np.r_[resp, resp]
    d.rt_attribute = np.r_[np.zeros(len(rt), int), np.ones(len(rt), int)].astype(np.int64)
    d.rt_value = np.r_[value, np.clip(value + rng.integers(-1, 2, len(rt)), 1, 7)]
    # Ranking labels: 3 responses each, ties when scores round equal.
    rk = np.flatnonzero(task[item] == 1)
    base = 2 * n_pw + 3 * (item[rk] - n_pw - n_rt)
    resp3 = base[:, None] + np.arange(3)[None, :]
    score = np.rint(resp_quality[resp3] * 2 + rng.normal(scale=0.7, size=resp3.shape))
    # Mid-ranks (1 = best): 1 + number strictly better + half the others tied with it.
    better = (score[:, None, :] > score[:, :, None]).sum(axis=2)
    equal = (score[:, None, :] == score[:, :, None]).sum(axis=2)
    ranks = 1.0 + better + (equal - 1) / 2.0
    d.rk_label = np.repeat(rk, 3)
    d.rk_response = resp3.ravel().astype(np.int64)
    d.rk_rank = ranks.ravel().astype(np.float64)
    d.rk_position = np.tile(np.arange(3), len(rk)).astype(np.int64)
    assert set(np.unique(d.label_task)) <= set(range(len(TASK_TYPES)))
    return d


def from_database(n_rows: int, boot: int) -> None:
    """Load + report on the bench_export database's labels, with peak RSS."""
    import bench_export as be
    import psutil

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
    url = be.bench_database_url(base, n_rows)  # the same database bench_export builds
    be.ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from annotate.selectors.analytics import campaign_analytics_data

    call_command("migrate", verbosity=0)
    campaign, seconds = be.populate(n_rows)
    if seconds:
        print(f"db populate seconds ({n_rows} annotations): {seconds:.1f}")
    mib = 1024 * 1024
    before = psutil.Process().memory_info().rss
    with be.PeakRSS() as load_peak:
        t0, c0 = time.perf_counter(), time.process_time()
        d = campaign_analytics_data(campaign=campaign)
        load, load_cpu = time.perf_counter() - t0, time.process_time() - c0
    loaded = psutil.Process().memory_info().rss
    with be.PeakRSS() as report_peak:
        t1, c1 = time.perf_counter(), time.process_time()
        campaign_report(d, ReportOptions(n_boot=boot))
        compute, compute_cpu = time.perf_counter() - t1, time.process_time() - c1
    peak = max(load_peak, report_peak, key=lambda p: p.peak)
    n = len(d.label_id)
    total = load + compute
    print(f"db labels: {n} ({len(d.pw_label)} pairwise), load average {os.getloadavg()[0]:.1f}")
    print(
        f"db load: {load:.2f} s wall, {load_cpu:.2f} s CPU, {load / max(n, 1) * 1e6:.2f} us/label"
        f" ({load_cpu / max(n, 1) * 1e6:.2f} us/label CPU)"
    )
    print(f"db report: {compute:.2f} s wall, {compute_cpu:.2f} s CPU")
    print(f"db load + report: {total:.2f} s wall, {load_cpu + compute_cpu:.2f} s CPU")
    print(
        f"db RSS before MiB: {before / mib:.0f}, peak loading {load_peak.peak / mib:.0f}, "
        f"after loading {loaded / mib:.0f}, peak reporting {report_peak.peak / mib:.0f}, "
        f"peak MiB: {peak.peak / mib:.0f}"
    )
    ok = total < 6 and peak.peak < 500 * mib and load / max(n, 1) <= 2e-6
    print(
        f"goal (issue 14): load <= 2 us/label, load + report under 6 s and 500 MB -> "
        f"{'MET' if ok else 'NOT MET'} ({total:.2f} s, {peak.peak / mib:.0f} MiB; on a shared "
        "machine compare CPU time when the load average is above the core count)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--skip-package-matrix", action="store_true")
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--db-rows", type=int, default=int(os.environ.get("BENCH_ROWS", 1_000_000)))
    args = parser.parse_args()
    if not args.skip_db:
        from_database(args.db_rows, args.boot)

    t0 = time.perf_counter()
    d = synthetic(args.labels, args.annotators, args.items)
    print(
        f"synthetic data: {len(d.label_id)} labels, {args.annotators} annotators, "
        f"{args.items} items ({time.perf_counter() - t0:.1f} s to build)"
    )
    t0, c0 = time.perf_counter(), time.process_time()
    report = campaign_report(d, ReportOptions(n_boot=args.boot))
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU time is printed too: on a shared box the wall time includes other jobs' load.
    print(
        f"campaign_report (all figures, {args.boot} bootstraps): {total:.2f} s wall, "
        f"{cpu:.2f} s CPU, load average {os.getloadavg()[0]:.1f}"
    )
    within = report["consistency"]["within_annotator"]
    print(f"consistency within annotator: {within['rate']:.4f} over {within['n_pairs']} pairs")
    print(
        f"annotator pairs with kappa (pairwise): "
        f"{report['agreement']['pairwise']['cohen_kappa']['n_annotator_pairs']}"
    )

    # The krippendorff package on the same data: overall-attribute ratings, interval.
    import krippendorff

    sel = d.rt_attribute == 0
    units = d.label_item[d.rt_label[sel]]
    coders = d.label_annotator[d.rt_label[sel]]
    values = d.rt_value[sel]
    t0 = time.perf_counter()
    ours = ag.krippendorff_alpha(units, values, "interval")
    t_ours = time.perf_counter() - t0
    ucode = np.unique(units, return_inverse=True)[1].ravel()
    counts = ag.category_counts(ucode, (values - 1).astype(int), 7)
    t0 = time.perf_counter()
    pkg_vc = krippendorff.alpha(
        value_counts=counts, value_domain=np.arange(1, 8), level_of_measurement="interval"
    )
    t_pkg_vc = time.perf_counter() - t0
    print(
        f"alpha interval on {len(values)} ratings: ours {t_ours * 1000:.1f} ms, "
        f"package(value_counts) {t_pkg_vc * 1000:.1f} ms, "
        f"ratio {t_pkg_vc / t_ours:.1f}x, |diff| {abs(ours - pkg_vc):.2e}"
    )
    if not args.skip_package_matrix:
        mat = np.full((args.annotators, ucode.max() + 1), np.nan)
        mat[coders, ucode] = values
        t0 = time.perf_counter()
        pkg = krippendorff.alpha(reliability_data=mat, level_of_measurement="interval")
        t_pkg = time.perf_counter() - t0
        print(
            f"alpha interval, package(reliability_data {mat.shape[0]}x{mat.shape[1]}): "
            f"{t_pkg:.2f} s, ratio {t_pkg / t_ours:.0f}x vs ours, "
            f"|diff| {abs(ours - pkg):.2e}"
        )
        print(f"whole campaign report vs one package alpha: {total / t_pkg:.2f}x the time")
    verdict = "PASS" if total < 10 else "FAIL"
    print(
        f"target: report under 10 s -> {verdict} (wall {total:.2f} s, CPU {cpu:.2f} s; "
        "compare CPU time when the load average is above the core count)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
