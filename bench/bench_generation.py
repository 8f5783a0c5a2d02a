"""Generation benchmark: SmolLM2 speed, generation-queue throughput, pool wait.

Prints plain-text figures and exits 0. Runs against the PostgreSQL server and Redis of
DATABASE_URL / CELERY_BROKER_URL (as ``make bench`` sets them) but in its OWN database
(``<name>_bench_gen``, created and migrated on first use) and its own Redis db
(BENCH_GEN_REDIS_DB, default 13), so it never touches anyone's data. Celery workers are
real ``celery worker`` subprocesses consuming the "generate" queue.

Figures:
1. default model (SmolLM2-135M-Instruct, local backend, this machine): time to first
   token and decode tokens/s (median of three prompts, up to 48 new tokens).
2. generation queue throughput with one worker process (all cores) and two worker
   processes (one core each): responses/s and generated tokens/s.
3. the wait for the next pre-generated item once the pool is warm (assignment_next).
BENCH_GEN_ONLY=model stops after the first group; BENCH_GEN_REQUESTS sets the queue size.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_QUEUE = int(os.environ.get("BENCH_GEN_REQUESTS", "6"))
QUEUE_TOKENS = 32
POOL = 4  # pairwise items in the warm pool (2 generations each)
PROMPTS = [
    "Explain why the sky is blue in two sentences.",
    "Give me three tips for learning a new language.",
    "What is a good name for a friendly robot?",
    "Summarise the water cycle briefly.",
    "How do I make a cup of tea?",
    "Why do cats purr?",
    "Suggest a short poem title about autumn.",
    "What is the difference between weather and climate?",
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    db = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
    parts = urlsplit(db)
    name = parts.path.lstrip("/") or "chorus"
    env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}_bench_gen"))
    broker = env.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    if broker.startswith("redis"):
        b = urlsplit(broker)
        broker = urlunsplit(b._replace(path="/" + os.environ.get("BENCH_GEN_REDIS_DB", "13")))
    env["CELERY_BROKER_URL"] = broker
    env["CELERY_RESULT_BACKEND"] = broker if broker.startswith("redis") else ""
    env.setdefault("CHORUS_MODEL_DIR", str(ROOT / "var" / "models"))
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["CHORUS_LOG_LEVEL"] = "WARNING"
    return env


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if not env["CELERY_RESULT_BACKEND"]:
        os.environ.pop("CELERY_RESULT_BACKEND")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def bench_model() -> None:
    from modelserve.backends import SamplingParams, backend_get
    from modelserve.model_files import default_model_dir

    started = time.perf_counter()
    default_model_dir()
    backend = backend_get(backend="local", model="default")
    backend.generate([{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=4, seed=0))
    print(f"model: SmolLM2-135M-Instruct load + first call {time.perf_counter() - started:.1f} s")
    ttft, rates, totals = [], [], []
    for n, prompt in enumerate(PROMPTS[:3]):
        result = backend.generate(
            [{"role": "user", "content": prompt}],
            SamplingParams(max_new_tokens=48, temperature=0.7, seed=n),
        )
        assert result.first_token_ms is not None and result.n_tokens
        ttft.append(result.first_token_ms)
        decode_s = max(1e-6, (result.latency_ms - result.first_token_ms) / 1000)
        rates.append((result.n_tokens - 1) / decode_s)
        totals.append(result.n_tokens / (result.latency_ms / 1000))
    import torch

    print(
        f"model: time to first token median {statistics.median(ttft):.0f} ms "
        f"(min {min(ttft)}, max {max(ttft)}; torch threads {torch.get_num_threads()})"
    )
    print(
        f"model: decode {statistics.median(rates):.1f} tokens/s median; "
        f"end-to-end {statistics.median(totals):.1f} tokens/s (up to 48-token replies)"
    )


def _start_workers(env: dict[str, str], processes: int) -> subprocess.Popen:
    worker_env = dict(env)
    worker_env["CHORUS_TORCH_THREADS"] = str(max(1, (os.cpu_count() or 2) // processes))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "generate",
            "-c",
            str(processes),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_done(ids: list[int], timeout_s: float) -> float:
    from modelserve.models import GenerationRequest

    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if GenerationRequest.objects.filter(
            pk__in=ids, status__in=["done", "failed"]
        ).count() == len(ids):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"generation did not finish within {timeout_s} s")


def _enqueue(campaign, endpoint, n: int, tag: str) -> list[int]:
    from django.db import transaction

    from modelserve.generation import generation_requests_create
    from modelserve.models import GenerationPurpose
    from modelserve.pool import prompt_add

    ids = []
    with transaction.atomic():
        for i in range(n):
            prompt = prompt_add(
                campaign=campaign, messages=f"{PROMPTS[i % len(PROMPTS)]} ({tag} {i})"
            )
            plan = [(endpoint, {"max_new_tokens": QUEUE_TOKENS, "temperature": 0.7, "seed": i})]
            ids += [
                r.pk
                for r in generation_requests_create(
                    campaign=campaign,
                    prompt=prompt,
                    plan=plan,
                    purpose=GenerationPurpose.LIVE,
                )
            ]
    return ids


def bench_queue(env: dict[str, str], campaign, endpoint) -> None:
    from django.db.models import Sum

    from modelserve.models import GenerationRequest

    for processes in (1, 2):
        proc = _start_workers(env, processes)
        try:
            # Warm-up: every worker process loads the model once (not per task).
            _wait_done(_enqueue(campaign, endpoint, processes * 2, f"warm{processes}"), 300)
            ids = _enqueue(campaign, endpoint, N_QUEUE, f"run{processes}")
            elapsed = _wait_done(ids, 600)
        finally:
            _stop(proc)
        done = GenerationRequest.objects.filter(pk__in=ids, status="done")
        tokens = done.aggregate(t=Sum("n_tokens"))["t"] or 0
        print(
            f"queue: {processes} worker process(es): {done.count()}/{len(ids)} responses "
            f"in {elapsed:.1f} s = {done.count() / elapsed:.2f} responses/s, "
            f"{tokens / elapsed:.1f} tokens/s ({QUEUE_TOKENS}-token replies)"
        )


def bench_pool(env: dict[str, str]) -> None:
    from django.contrib.auth import get_user_model

    from annotate.models import Campaign, Item
    from annotate.services import annotator_get_or_create, assignment_next
    from modelserve.models import ModelEndpoint
    from modelserve.pool import pool_status, pool_topup, prompt_add

    slug = f"bench-pool-{int(time.time())}"
    campaign = Campaign.objects.create(
        slug=slug,
        name=slug,
        status="open",
        task_mix={"pairwise": 1},
        config={
            "pregen_pool_size": POOL,
            "candidates_per_prompt": 2,
            "generation_params": {"max_new_tokens": QUEUE_TOKENS},
        },
    )
    for endpoint in ModelEndpoint.objects.filter(name__startswith="bench-"):
        campaign.model_pool.add(endpoint)
    for i in range(POOL * 2):
        prompt_add(campaign=campaign, messages=PROMPTS[i % len(PROMPTS)])
    proc = _start_workers(env, 2)
    try:
        started = time.perf_counter()
        pool_topup(campaign_id=campaign.pk)
        while pool_status(campaign=campaign)["ready"] < POOL:
            if time.perf_counter() - started > 300:
                raise SystemExit("the pool did not fill within 300 s")
            time.sleep(0.1)
        print(
            f"pool: {POOL} pairwise items ({2 * POOL} generations) ready from cold in "
            f"{time.perf_counter() - started:.1f} s with 2 worker processes"
        )
        waits = []
        for n in range(POOL):
            user, _ = get_user_model().objects.get_or_create(username=f"{slug}-{n}")
            annotator = annotator_get_or_create(user=user)
            t0 = time.perf_counter()
            assignment = assignment_next(annotator=annotator, campaign=campaign)
            waits.append((time.perf_counter() - t0) * 1000)
            assert assignment is not None
        print(
            f"pool: wait for the next pre-generated item once warm: median "
            f"{statistics.median(waits):.1f} ms, max {max(waits):.1f} ms "
            f"(assignment_next; a cold item would wait for generation instead)"
        )
        assert Item.objects.filter(campaign=campaign).count() >= POOL
    finally:
        _stop(proc)


def main() -> int:
    env = _env()
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPU cores, load average {load:.1f} at start "
        "(figures scale down with other work on the box)"
    )
    if env["DATABASE_URL"].startswith("postgres"):
        _ensure_database(env["DATABASE_URL"])
    _setup_django(env)
    bench_model()
    if os.environ.get("BENCH_GEN_ONLY") == "model":
        return 0

    from annotate.models import Campaign
    from modelserve.models import ModelEndpoint

    endpoints = [
        ModelEndpoint.objects.update_or_create(
            name=f"bench-smollm2-{n}",
            defaults={"backend": "local", "model": "default", "params": {"temperature": t}},
        )[0]
        for n, t in enumerate((0.7, 1.0))
    ]
    slug = f"bench-queue-{int(time.time())}"
    campaign = Campaign.objects.create(slug=slug, name=slug, status="open")
    if not env["CELERY_BROKER_URL"].startswith("redis"):
        print("queue: skipped (needs Redis; set CELERY_BROKER_URL=redis://...)")
        return 0
    from config.celery import app

    with app.connection_for_write() as conn:
        channel: Any = conn.default_channel
        channel.queue_declare("generate", durable=True)
        channel.queue_purge("generate")
    bench_queue(env, campaign, endpoints[0])
    bench_pool(env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
