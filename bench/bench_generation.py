"""Generation benchmark: transformers and CTranslate2 side by side on the same prompts.

Prints plain-text figures and, with ``--json PATH``, writes
``{"transformers": {...}, "ctranslate2": {...}}``. Runs against the PostgreSQL server and
Redis of DATABASE_URL / CELERY_BROKER_URL but in its OWN database (``<name>_bench_gen``,
created and migrated on first use) and its own Redis db (BENCH_GEN_REDIS_DB, default 13),
so it never touches anyone's data. Workers are real ``celery worker`` subprocesses
consuming the "generate" queue, two pool processes with one thread each.

Figures per engine (SmolLM2-135M-Instruct, local backend, sampling at temperature 0.7):
- ttft_ms: time to the first token of a 4-candidate turn (one batched call), p50 over
  BENCH_GEN_TTFT_TURNS (default 10) warm turns, in process.
- turn_k4_s: a turn of four 128-token replies until all four complete, p50 over
  BENCH_GEN_REPS (default 2) turns; tokens_per_s_batch4 from the same turns.
- turn_k4_mixed_s: the same turn with four different temperatures (CTranslate2 takes one
  temperature per batch, so it runs one batch per temperature, side by side;
  transformers one batch with per-row sampling).
- tokens_per_s_batch1: one 128-token reply, p50 over BENCH_GEN_REPS.
- queue_ttft_ms: prompt committed -> first text stored for the page to show, through
  Celery on a warm worker (p50 of 3 single turns).
- concurrent_turns_per_min: 10 annotators start a 4-candidate turn at once (64 new
  tokens each, to keep the run short), 2 worker processes; peak_rss_mb per worker process.
Replies stop at EOS, so a "128-token" reply may be shorter; tokens/s counts real tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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

ENGINES = ("transformers", "ctranslate2")
REPS = int(os.environ.get("BENCH_GEN_REPS", "2"))
TTFT_TURNS = int(os.environ.get("BENCH_GEN_TTFT_TURNS", "10"))
N_ANNOTATORS = 10
LONG = 128
CONCURRENT_TOKENS = 64
PROMPTS = [
    "Write a detailed story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in detail how a bicycle works, part by part.",
    "Describe a day in the life of a medieval baker, with many details.",
    "Give a long, step-by-step guide to planting a vegetable garden.",
    "Explain why the sky is blue.",
    "Give me three tips for learning a new language.",
    "What is the difference between weather and climate?",
    "How do I make a cup of tea?",
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
    env.setdefault("CHORUS_WARM_MODELS", "0")  # the bench warms workers with real turns
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


def _rows(n: int, tokens: int, temps: list[float] | None = None, offset: int = 0) -> list:
    from modelserve.generation.backends import BatchRow, SamplingParams

    return [
        BatchRow(
            [{"role": "user", "content": PROMPTS[(offset + i) % len(PROMPTS)]}],
            SamplingParams(
                max_new_tokens=tokens,
                temperature=(temps[i] if temps else 0.7),
                seed=offset * 10 + i,
            ),
        )
        for i in range(n)
    ]


def _timed(backend: Any, rows: list) -> tuple[float, list]:
    started = time.perf_counter()
    results = backend.generate_batch(rows)
    elapsed = time.perf_counter() - started
    bad = [r for r in results if isinstance(r, Exception)]
    if bad:
        raise SystemExit(f"generation failed: {bad[0]}")
    return elapsed, results


def bench_in_process(engine: str) -> dict[str, Any]:
    from django.conf import settings

    from modelserve.generation.backends import backend_get

    settings.CHORUS_LOCAL_ENGINE = engine
    backend = backend_get(backend="local", model="default")
    started = time.perf_counter()
    _, results = _timed(backend, _rows(1, 4))
    print(f"{engine}: load + first call {time.perf_counter() - started:.1f} s ({results[0].model})")
    out: dict[str, Any] = {"model": results[0].model}
    ttft = []
    for turn in range(TTFT_TURNS):
        _, results = _timed(backend, _rows(4, 8, offset=turn))
        ttft.append(min(r.first_token_ms for r in results))
    out["ttft_ms"] = round(statistics.median(ttft))
    turns, rates4 = [], []
    for rep in range(REPS):
        elapsed, results = _timed(backend, _rows(4, LONG, offset=rep))
        turns.append(elapsed)
        rates4.append(sum(r.n_tokens for r in results) / elapsed)
    out["turn_k4_s"] = round(statistics.median(turns), 2)
    out["tokens_per_s_batch4"] = round(statistics.median(rates4), 1)
    elapsed, results = _timed(backend, _rows(4, LONG, temps=[0.4, 0.8, 1.1, 0.6]))
    out["turn_k4_mixed_s"] = round(elapsed, 2)
    rates1 = []
    for rep in range(REPS):
        elapsed, results = _timed(backend, _rows(1, LONG, offset=rep))
        rates1.append(results[0].n_tokens / elapsed)
    out["tokens_per_s_batch1"] = round(statistics.median(rates1), 1)
    print(
        f"{engine}: ttft {out['ttft_ms']} ms (p50 of {TTFT_TURNS} turns); four 128-token "
        f"replies {out['turn_k4_s']} s (p50 of {REPS}), {out['tokens_per_s_batch4']} tok/s; "
        f"mixed temperatures {out['turn_k4_mixed_s']} s; batch 1 "
        f"{out['tokens_per_s_batch1']} tok/s (p50 of {REPS})"
    )
    return out


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
    from modelserve.generation.models import GenerationRequest

    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if GenerationRequest.objects.filter(
            pk__in=ids, status__in=["done", "failed"]
        ).count() == len(ids):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"generation did not finish within {timeout_s} s")


def _turns(campaign, endpoint, n: int, tokens: int, tag: str) -> list[list[int]]:
    """n turns of 4 candidates, each enqueued as one job per turn (as the page does)."""
    from django.db import transaction

    from modelserve.generation.models import GenerationPurpose
    from modelserve.generation.pool import prompt_add
    from modelserve.generation.requests import generation_requests_create

    turns = []
    with transaction.atomic():
        for i in range(n):
            prompt = prompt_add(
                campaign=campaign, messages=f"{PROMPTS[i % len(PROMPTS)]} ({tag} {i})"
            )
            plan = [
                (endpoint, {"max_new_tokens": tokens, "temperature": 0.7, "seed": i * 4 + k})
                for k in range(4)
            ]
            created = generation_requests_create(
                campaign=campaign, prompt=prompt, plan=plan, purpose=GenerationPurpose.LIVE
            )
            turns.append([r.pk for r in created])
    return turns


def _first_text_ms(ids: list[int], started: float, timeout_s: float) -> float:
    from modelserve.generation.models import GenerationRequest

    while time.perf_counter() - started < timeout_s:
        if GenerationRequest.objects.filter(pk__in=ids).exclude(partial_text="").exists():
            return (time.perf_counter() - started) * 1000
        time.sleep(0.01)
    raise SystemExit("no text within the timeout")


def _peak_rss_mb(parent: int) -> list[float]:
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(parent) and "VmHWM" in fields:
            peaks.append(round(int(fields["VmHWM"].split()[0]) / 1024, 1))
    return sorted(peaks)


def bench_queue(env: dict[str, str], engine: str, campaign, endpoint) -> dict[str, Any]:
    worker_env = {**env, "CHORUS_LOCAL_ENGINE": engine}
    proc = _start_workers(worker_env, 2)
    out: dict[str, Any] = {}
    try:
        # Warm-up: both pool processes load the model (two turns at once).
        _wait_done(
            [pk for t in _turns(campaign, endpoint, 2, 4, f"warm-{engine}") for pk in t], 300
        )
        ttft = []
        for n in range(3):
            started = time.perf_counter()
            (ids,) = _turns(campaign, endpoint, 1, 16, f"ttft-{engine}-{n}")
            ttft.append(_first_text_ms(ids, started, 60))
            _wait_done(ids, 120)
        out["queue_ttft_ms"] = round(statistics.median(ttft))
        turns = _turns(campaign, endpoint, N_ANNOTATORS, CONCURRENT_TOKENS, f"burst-{engine}")
        elapsed = _wait_done([pk for t in turns for pk in t], 900)
        out["concurrent_turns_per_min"] = round(N_ANNOTATORS / elapsed * 60, 1)
        out["concurrent_burst_s"] = round(elapsed, 1)
        out["peak_rss_mb"] = _peak_rss_mb(proc.pid)
    finally:
        _stop(proc)
    print(
        f"{engine}: queue ttft {out['queue_ttft_ms']} ms (p50 of 3, warm worker); "
        f"{N_ANNOTATORS} turns at once ({CONCURRENT_TOKENS} tokens x 4) in "
        f"{out['concurrent_burst_s']} s = {out['concurrent_turns_per_min']} turns/min; "
        f"peak RSS per worker process {out['peak_rss_mb']} MB"
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--no-queue", action="store_true", help="in-process figures only")
    args = parser.parse_args()
    env = _env()
    print(
        f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at "
        f"start (figures scale down with other work on the box); {REPS} repetitions "
        f"for 128-token figures, {TTFT_TURNS} turns for ttft (fewer than a full study)"
    )
    if env["DATABASE_URL"].startswith("postgres"):
        _ensure_database(env["DATABASE_URL"])
    _setup_django(env)
    from modelserve.generation.model_files import default_model_dir

    default_model_dir()
    engines = [e for e in args.engines.split(",") if e]
    figures: dict[str, dict[str, Any]] = {e: bench_in_process(e) for e in engines}
    use_queue = not args.no_queue and env["CELERY_BROKER_URL"].startswith("redis")
    if use_queue:
        from annotate.models import Campaign
        from config.celery import app
        from modelserve.generation.models import ModelEndpoint

        endpoint = ModelEndpoint.objects.update_or_create(
            name="bench-smollm2", defaults={"backend": "local", "model": "default"}
        )[0]
        slug = f"bench-gen-{int(time.time())}"
        campaign = Campaign.objects.create(slug=slug, name=slug, status="open")
        with app.connection_for_write() as conn:
            channel: Any = conn.default_channel
            channel.queue_declare("generate", durable=True)
            channel.queue_purge("generate")
        for engine in engines:
            figures[engine].update(bench_queue(env, engine, campaign, endpoint))
    else:
        print("queue: skipped (--no-queue, or no Redis in CELERY_BROKER_URL)")
    figures_load = {"load_average_end": round(os.getloadavg()[0], 2)}
    print(json.dumps({**figures, **figures_load}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
