"""Load benchmark: simulated annotators against gunicorn on PostgreSQL (issue 8).

For N = 10, 50, 200 concurrent simulated people (annotate.simulation: real HTTP, real
pages, plain form posts so the task page and the submit are timed apart), each for
BENCH_LOAD_SECONDS: completed tasks/s, p50/p95/p99 of task page and submit, error rate;
then, from the database, every submitted label stored exactly once and no item over its
overlap. Then the baseline: the same request mix (task page, submit that leases the
next) against the smallest Django views doing the same database work
(bench/baseline_views.py), and the ratio.

People are onboarded (account, consent, profile) before the clock starts; the timed
loop is log in -> task page -> submit -> task page ... Both servers run on this box
with the load generator, so all three share its CPU cores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus python bench/bench_load.py
Env: BENCH_LOAD_N (default "10,50"), CHORUS_BENCH_SECONDS (or BENCH_LOAD_SECONDS;
default 30), BENCH_GUNICORN_WORKERS (3), BENCH_GUNICORN_THREADS (4), BENCH_GUNICORN_CLASS
(gthread; "sync" is what `make run` and docker-compose serve with). Ends with a table
of every figure and the issue-14 goals (Chorus/baseline >= 0.77 at each N, throughput at
the largest N not below the smallest, p99 submit < 250 ms at N=50). Throughput is given
for the whole run and, in brackets, for its steady state (steady_tps: without the first
2 s and the last 1 s, where every person starts at once or the last cycles drain).

Then a paced run at N=50 on both servers: people who think before each answer (uniform,
0 to twice the mean), the mean set so they ask for BENCH_LOAD_PACED (default 0.6; 0 leaves
the run out) of Chorus's throughput at the smallest N. Its p99 submit is printed beside
the saturated one: with no think time, N people queue and a cycle takes N / throughput.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
DB_URL = _base.rsplit("/", 1)[0] + "/chorus_bench_load"
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.models import Count, F  # noqa: E402

from annotate.models import Annotation, Annotator, Item  # noqa: E402
from annotate.selectors.onboarding import consent_document  # noqa: E402
from annotate.services import annotator_get_or_create, profile_version_create  # noqa: E402
from annotate.services.onboarding import consent_give  # noqa: E402
from annotate.services.simulation import (  # noqa: E402
    simulation_campaign_create,
    simulation_lookup,
)
from annotate.simulation import html as pages  # noqa: E402
from annotate.simulation.driver import percentile, run_crowd  # noqa: E402
from annotate.simulation.model import CrowdConfig, draw_people  # noqa: E402
from bench.common import PROFILE, fresh_database  # noqa: E402

SECONDS = float(
    os.environ.get("CHORUS_BENCH_SECONDS") or os.environ.get("BENCH_LOAD_SECONDS") or "30"
)
SIZES = [int(n) for n in os.environ.get("BENCH_LOAD_N", "10,50").split(",") if n]
GOAL_RATIO, GOAL_P99_SUBMIT_MS, GOAL_P99_AT = 0.77, 250.0, 50
# The paced run: N=50 people who read each task before they answer (think time drawn
# uniformly from 0 to twice its mean), the mean set so that they ask for this share of
# the throughput Chorus reached at the smallest N. 0 leaves the run out.
PACED_SHARE = float(os.environ.get("BENCH_LOAD_PACED", "0.6"))
WORKERS = os.environ.get("BENCH_GUNICORN_WORKERS", "3")
THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "4")
WORKER_CLASS = os.environ.get("BENCH_GUNICORN_CLASS", "gthread")
PASSWORD = "sim-annotator-pass-2718"
CONFIG = CrowdConfig(seed=8)


def gunicorn(settings: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            WORKERS,
            "-k",
            WORKER_CLASS,
            # gunicorn turns "sync" with more than one thread into gthread: threads go
            # with gthread only, so that BENCH_GUNICORN_CLASS=sync measures sync.
            *(["--threads", THREADS] if WORKER_CLASS == "gthread" else []),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn ({settings}) did not start: {proc.stderr.read()[-2000:]!r}")


def onboard(prefix: str, n: int) -> list[int]:
    """Accounts, consent and profile made directly (not timed): returns annotator ids."""
    User = get_user_model()
    doc = consent_document(campaign=None)
    ids = []
    for i in range(n):
        user = User.objects.create_user(username=f"{prefix}{i}", password=PASSWORD)
        annotator = annotator_get_or_create(user=user)
        consent_give(
            annotator=annotator, campaign=None, version=doc.version, text_sha256=doc.sha256
        )
        profile_version_create(annotator=annotator, **PROFILE)
        ids.append(annotator.pk)
    return ids


def verify(campaign_id: int, submitted: list[int]) -> tuple[bool, str]:
    stored = list(
        Annotation.objects.filter(campaign_id=campaign_id).values_list("assignment_id", flat=True)
    )
    over_slots = Item.objects.filter(campaign_id=campaign_id, slots_taken__gt=F("overlap")).count()
    over_labels = (
        Item.objects.filter(campaign_id=campaign_id)
        .annotate(n=Count("annotations"))
        .filter(n__gt=F("overlap"))
        .count()
    )
    ok = (
        len(stored) == len(set(stored))
        and set(stored) == set(submitted)
        and len(submitted) == len(set(submitted))
        and over_slots == 0
        and over_labels == 0
    )
    return ok, (
        f"labels stored={len(stored)} submitted={len(submitted)} "
        f"distinct={len(set(stored))} items over overlap={over_labels} "
        f"slots over overlap={over_slots} -> {'OK' if ok else 'INVARIANT BROKEN'}"
    )


def line(kind: str, values: list[float]) -> str:
    return (
        f"{kind} p50={percentile(values, 50):6.1f} p95={percentile(values, 95):6.1f} "
        f"p99={percentile(values, 99):6.1f} ms"
    )


def steady_tps(times: list[float]) -> float:
    """Tasks/s between the first 2 s and the last 1 s of a run, from each submit's time.

    The whole-run figure also counts the start, when every person opens their first task
    at once, and the drain after the clock stops, when in-flight cycles finish: about one
    cycle each (N / throughput, ~0.5 s at N=50 against ~0.1 s at N=10), so it charges a
    large N for the length of its queue. The same rule for both servers."""
    if len(times) < 2:
        return 0.0
    lo, hi = min(times) + 2.0, max(times) - 1.0
    if hi <= lo:
        return 0.0
    return sum(1 for t in times if lo <= t <= hi) / (hi - lo)


def prompts_for(n: int) -> int:
    """Enough prompts that neither server runs out of work before the clock stops (up to
    ~200 labels/s; each prompt makes 7 items of overlap 3): the figures are the steady
    state, not the end of a study, where leases wait for the last locked items."""
    return max(40, 2 * n, math.ceil(200 * SECONDS / (3 * 7)))


def think_for(n: int, tps: float) -> float:
    """The mean think time at which ``n`` people ask for PACED_SHARE of ``tps`` tasks/s.

    Each cycle is a think time plus a page and a submit; the think time is most of it,
    so n / think is close to the tasks/s asked for (a little above the figure reached)."""
    return n / (PACED_SHARE * tps)


def run_chorus(n: int, port: int, think_s: float = 0.0) -> dict[str, float]:
    tag = f"{n}p" if think_s else f"{n}"
    campaign = simulation_campaign_create(
        slug=f"load-{tag}", n_models=4, n_prompts=prompts_for(n), overlap=3
    )
    prefix = f"sim-load-{tag}-"
    onboard(prefix, n)
    lookup = simulation_lookup(campaign=campaign, config=CONFIG)
    connections.close_all()
    result = run_crowd(
        base_url=f"http://127.0.0.1:{port}",
        campaign_slug=campaign.slug,
        people=draw_people(CONFIG, n),
        config=CONFIG,
        lookup=lookup.__getitem__,
        duration_s=SECONDS,
        password=PASSWORD,
        username_prefix=prefix,
        htmx=False,
        log_in_first=True,
        think_s=think_s,
    )
    submitted = [a for p in result.people for a in p.submitted]
    n_err = sum(result.errors().values())
    bad_codes = {c: k for c, k in sorted(result.codes().items()) if c >= 500}
    ok, check = verify(campaign.pk, submitted)
    tps = len(submitted) / result.elapsed_s
    steady = steady_tps([t for p in result.people for t, _ in p.submit_times])
    page, submit = result.latencies("task_page"), result.latencies("submit")
    failures = [p.failure for p in result.people if p.failure]
    print(
        f"chorus   N={n:>3}{paced(think_s)} tasks={len(submitted):>5} "
        f"throughput={tps:6.1f} tasks/s "
        f"(steady {steady:6.1f}) | "
        f"{line('task page', page)} | {line('submit', submit)} | "
        f"errors={n_err}/{result.requests()} ({100 * n_err / max(1, result.requests()):.2f}%"
        f"{', HTTP ' + str(bad_codes) if bad_codes else ''})"
        f" | {check}"
        + (f" | people failed: {len(failures)} e.g. {failures[0]}" if failures else ""),
        flush=True,
    )
    if not ok:
        raise SystemExit(1)
    return {
        "tps": tps,
        "steady": steady,
        "page50": percentile(page, 50),
        "submit50": percentile(submit, 50),
        "page99": percentile(page, 99),
        "submit99": percentile(submit, 99),
    }


def paced(think_s: float) -> str:
    return f" paced (think {think_s:.2f} s)" if think_s else ""


def run_baseline(n: int, port: int, think_s: float = 0.0) -> dict[str, float]:
    tag = f"{n}p" if think_s else f"{n}"
    campaign = simulation_campaign_create(
        slug=f"base-{tag}", n_models=4, n_prompts=prompts_for(n), overlap=3
    )
    User = get_user_model()
    annotators = [
        Annotator.objects.create(user=User.objects.create(username=f"base-{tag}-{i}")).pk
        for i in range(n)
    ]
    connections.close_all()
    deadline = time.monotonic() + SECONDS
    page_ms: list[float] = []
    submit_ms: list[float] = []
    done: list[int] = []
    done_at: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def person(annotator_id: int) -> None:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        rng = random.Random(annotator_id)  # the simulator's think time: uniform, 0 to 2x
        url = f"/b/start/{campaign.pk}/{annotator_id}/"
        response = client.get(url)
        while time.monotonic() < deadline and response.status_code == 303:
            t0 = time.perf_counter()
            page = client.get(response.headers["Location"])
            t1 = time.perf_counter()
            forms = pages.parse_forms(page.text)  # the same client-side work as Chorus's
            pages.response_ids(page.text)
            action = forms[0].action
            if think_s:
                time.sleep(rng.uniform(0, 2 * think_s))
            t2 = time.perf_counter()
            response = client.post(action, data={"choice": "A"})
            t3 = time.perf_counter()
            with lock:
                page_ms.append((t1 - t0) * 1000)
                submit_ms.append((t3 - t2) * 1000)
                if response.status_code >= 500 or page.status_code >= 500:
                    errors[0] += 1
                else:
                    done.append(int(urlsplit(action).path.strip("/").split("/")[-1]))
                    done_at.append(time.monotonic())
        client.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=person, args=(a,)) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    tps = len(done) / elapsed
    steady = steady_tps(done_at)
    _ok, check = verify(campaign.pk, done)
    print(
        f"baseline N={n:>3}{paced(think_s)} tasks={len(done):>5} throughput={tps:6.1f} tasks/s "
        f"(steady {steady:6.1f}) | "
        f"{line('task page', page_ms)} | {line('submit', submit_ms)} | "
        f"errors={errors[0]} | {check}",
        flush=True,
    )
    return {
        "tps": tps,
        "steady": steady,
        "page50": percentile(page_ms, 50),
        "submit50": percentile(submit_ms, 50),
        "page99": percentile(page_ms, 99),
        "submit99": percentile(submit_ms, 99),
    }


def summary(
    ours: dict[int, dict[str, float]], base: dict[int, dict[str, float]], think_s: float
) -> None:
    """Every figure in one table, then the goals of issue 14, each met or not. The paced
    run sits under the key -N."""
    print(
        "\n| N | Chorus tasks/s (steady) | Chorus p99 task page / submit "
        "| baseline tasks/s (steady) | Chorus / baseline (steady) |\n|---|---|---|---|---|"
    )
    for n in SIZES:
        o, b = ours[n], base[n]
        print(
            f"| {n} | {o['tps']:.1f} ({o['steady']:.1f}) "
            f"| {o['page99']:.0f} / {o['submit99']:.0f} ms "
            f"| {b['tps']:.1f} ({b['steady']:.1f}) "
            f"| {o['tps'] / b['tps']:.2f} ({o['steady'] / max(b['steady'], 1e-9):.2f}) |"
        )
    paced_at = -GOAL_P99_AT
    if paced_at in ours and paced_at in base:
        o, b = ours[paced_at], base[paced_at]
        print(
            f"| {GOAL_P99_AT}{paced(think_s)} | {o['tps']:.1f} ({o['steady']:.1f}) "
            f"| {o['page99']:.0f} / {o['submit99']:.0f} ms "
            f"| {b['tps']:.1f} ({b['steady']:.1f}); p99 {b['page99']:.0f} / "
            f"{b['submit99']:.0f} ms | - |"
        )
    checks = [
        (
            f"Chorus/baseline >= {GOAL_RATIO} at N={n}",
            ours[n]["tps"] / base[n]["tps"] >= GOAL_RATIO,
        )
        for n in SIZES
    ]
    if len(SIZES) > 1:
        lo, hi = min(SIZES), max(SIZES)
        checks.append(
            (f"throughput at N={hi} not below N={lo}", ours[hi]["tps"] >= ours[lo]["tps"])
        )
        # The same, without the start and the drain of each run (steady_tps); printed
        # beside the whole-run goal, not instead of it.
        checks.append(
            (
                f"throughput at N={hi} not below N={lo} (steady state)",
                ours[hi]["steady"] >= ours[lo]["steady"],
            )
        )
    if GOAL_P99_AT in ours:
        checks.append(
            (
                f"p99 submit < {GOAL_P99_SUBMIT_MS:.0f} ms at N={GOAL_P99_AT}",
                ours[GOAL_P99_AT]["submit99"] < GOAL_P99_SUBMIT_MS,
            )
        )
    if paced_at in ours:
        # Beside the goal, not instead of it: with no think time N people queue for the
        # server, so a cycle takes N / throughput (~0.5 s at N=50 here) whatever the code.
        share = ours[paced_at]["tps"] / ours[min(SIZES)]["tps"]
        checks.append(
            (
                f"p99 submit < {GOAL_P99_SUBMIT_MS:.0f} ms at N={GOAL_P99_AT} paced to "
                f"{100 * share:.0f}% of the throughput at N={min(SIZES)} "
                f"(think {think_s:.2f} s)",
                ours[paced_at]["submit99"] < GOAL_P99_SUBMIT_MS,
            )
        )
    for name, ok in checks:
        print(f"goal {'met    ' if ok else 'NOT MET'}: {name}", flush=True)


def main() -> None:
    fresh_database()
    print(
        f"load average {os.getloadavg()[0]:.1f} at start; {SECONDS:g} s per run, "
        f"gunicorn {WORKER_CLASS} {WORKERS} workers"
        f"{f' x {THREADS} threads' if WORKER_CLASS == 'gthread' else ''}, "
        f"{os.cpu_count()} CPU cores shared by server, PostgreSQL and load generator",
        flush=True,
    )
    chorus = gunicorn("bench.load_settings", 8791)
    ours: dict[int, dict[str, float]] = {}
    think_s = 0.0
    try:
        for n in SIZES:
            ours[n] = run_chorus(n, 8791)
        if PACED_SHARE > 0:
            think_s = think_for(GOAL_P99_AT, ours[min(SIZES)]["tps"])
            ours[-GOAL_P99_AT] = run_chorus(GOAL_P99_AT, 8791, think_s)
    finally:
        chorus.terminate()
        chorus.wait(timeout=30)
    base = gunicorn("bench.baseline_settings", 8792)
    theirs: dict[int, dict[str, float]] = {}
    try:
        for n in SIZES:
            b = theirs[n] = run_baseline(n, 8792)
            o = ours[n]
            print(
                f"overhead N={n:>3}: throughput chorus/baseline = {o['tps'] / b['tps']:.2f} "
                f"(baseline/chorus {b['tps'] / max(o['tps'], 1e-9):.2f}x) | median task page "
                f"{o['page50'] / b['page50']:.2f}x | median submit "
                f"{o['submit50'] / b['submit50']:.2f}x",
                flush=True,
            )
        if think_s:
            theirs[-GOAL_P99_AT] = run_baseline(GOAL_P99_AT, 8792, think_s)
    finally:
        base.terminate()
        base.wait(timeout=30)
    summary(ours, theirs, think_s)


if __name__ == "__main__":
    main()
