"""Assignment + submit throughput through the service layer on PostgreSQL.

N worker processes (no GIL sharing), each acting for its own annotators, lease and submit
until the campaign runs out. Prints ops/s and p50/p99 latency per operation, then checks
that no label was lost or doubled and no item exceeded its overlap.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus_bench python bench/bench_core.py
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402

from annotate.models import Annotation, Annotator, Assignment, Campaign, Item  # noqa: E402
from annotate.services import (  # noqa: E402
    ItemSpec,
    ResponseSpec,
    annotation_submit,
    assignment_next,
    campaign_create,
    items_add,
)

N_ITEMS = int(os.environ.get("BENCH_ITEMS", "2000"))
OVERLAP = 3
ANNOTATORS_PER_WORKER = 5


def ensure_database() -> None:
    import psycopg

    params = connection.get_connection_params()
    name = connection.settings_dict["NAME"]
    params = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        # A bench database is scratch: start clean every run.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def setup(workers: int) -> int:
    slug = f"bench-core-{workers}"
    campaign = campaign_create(slug=slug, name="Bench", overlap=OVERLAP, status="open")
    specs = [
        ItemSpec(
            task_type="pairwise",
            messages=[{"role": "user", "content": f"Prompt {n}"}],
            responses=[ResponseSpec(text=f"A{n}"), ResponseSpec(text=f"B{n}")],
        )
        for n in range(N_ITEMS)
    ]
    items_add(campaign=campaign, specs=specs)
    User = get_user_model()
    for w in range(workers):
        for a in range(ANNOTATORS_PER_WORKER):
            user, _ = User.objects.get_or_create(username=f"bench-{workers}-{w}-{a}")
            Annotator.objects.get_or_create(user=user)
    return campaign.pk


def worker(campaign_id: int, prefix: str, deadline: float, out: mp.Queue) -> None:
    connections.close_all()  # never share the parent's socket
    campaign = Campaign.objects.get(pk=campaign_id)
    annotators = list(Annotator.objects.filter(user__username__startswith=prefix))
    lease_ms: list[float] = []
    submit_ms: list[float] = []
    stored: list[int] = []
    active = list(annotators)
    n = 0
    while active and time.monotonic() < deadline:
        annotator = active[n % len(active)]
        n += 1
        t0 = time.perf_counter()
        lease = assignment_next(annotator=annotator, campaign=campaign)
        t1 = time.perf_counter()
        lease_ms.append((t1 - t0) * 1000)
        if lease is None:
            active.remove(annotator)
            continue
        annotation, created = annotation_submit(
            assignment_id=lease.pk,
            annotator=annotator,
            payload={"choice": "A"},
            time_spent_ms=3000,
        )
        submit_ms.append((time.perf_counter() - t1) * 1000)
        if created:
            stored.append(annotation.pk)
    out.put((lease_ms, submit_ms, stored))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(workers: int, seconds: float) -> None:
    campaign_id = setup(workers)
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    connections.close_all()
    deadline = time.monotonic() + seconds
    procs = [
        ctx.Process(target=worker, args=(campaign_id, f"bench-{workers}-{w}-", deadline, out))
        for w in range(workers)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    lease_ms = [x for r in results for x in r[0]]
    submit_ms = [x for r in results for x in r[1]]
    stored = [x for r in results for x in r[2]]

    # Invariants, checked from the database.
    total = Annotation.objects.filter(campaign_id=campaign_id).count()
    over = (
        Item.objects.filter(campaign_id=campaign_id)
        .annotate(n=Count("annotations"))
        .filter(n__gt=OVERLAP)
        .count()
    )
    twice = (
        Assignment.objects.filter(campaign_id=campaign_id)
        .values("item", "annotator")
        .annotate(c=Count("id"))
        .filter(c__gt=1)
        .count()
    )
    ok = total == len(stored) == len(set(stored)) and over == 0 and twice == 0
    print(
        f"core workers={workers:>2} tasks={len(submit_ms):>6} "
        f"throughput={len(submit_ms) / elapsed:7.1f} tasks/s | "
        f"lease p50={statistics.median(lease_ms):6.2f} ms p99={pct(lease_ms, 99):6.2f} ms | "
        f"submit p50={statistics.median(submit_ms):6.2f} ms p99={pct(submit_ms, 99):6.2f} ms | "
        f"labels stored={total} expected={len(stored)} over-overlap items={over} "
        f"repeat assignments={twice} -> {'OK' if ok else 'INVARIANT BROKEN'}"
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    ensure_database()
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    for workers in (1, 4, 8):
        run(workers, seconds)
