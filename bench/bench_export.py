"""Benchmark: streaming exports of 1,000,000 annotations, with peak memory.

Builds (once, then reuses) a bench database ``<DATABASE_URL name>_bench_export`` holding
one campaign with 100,000 pairwise items, 2,000 annotators with profiles and 1,000,000
submitted annotations, written with set-based ``INSERT ... SELECT generate_series`` (the
fastest bulk path PostgreSQL has short of COPY from a file). Then runs the real export
code path (annotate.services.exports.export_bytes: keyset chunks -> shape -> writer ->
SHA-256), discarding the bytes, and prints rows/s (wall, and per second of Python CPU)
and resident memory: the RSS before, the peak while exporting, and the RSS after the
first 10% of rows, so "flat memory" can be read straight off the numbers. Each export
runs in a fresh process (migrations run once, before, in another), and the last lines
say whether issue 14's goals are met: trl-preference jsonl at 200k annotations/s or
more on 1M, and peak RSS under 300 MB.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/bench_export.py [--rows N]
(``BENCH_ROWS=N`` in the environment also sets N, for quick checks.)
Prints plain "name: value" lines and exits 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import psycopg

N_ITEMS = 100_000
N_ANNOTATORS = 2_000
LAYOUT = 2  # bump when the generated data changes, to rebuild it


def bench_database_url(base: str, rows: int = 1_000_000) -> str:
    """``<name>_bench_export`` for the 1M run, ``<name>_bench_export_<rows>`` otherwise, so
    a quick run at another size does not truncate and rebuild the 1M database."""
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "chorus"
    suffix = "" if rows == 1_000_000 else f"_{rows}"
    return urlunsplit(parts._replace(path=f"/{name}_bench_export{suffix}"))


def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


POPULATE = [
    # Users and annotators (pseudonyms only ever leave the system).
    """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
           is_staff, is_active, date_joined)
       SELECT '!', false, 'bench' || g, '', '', 'bench' || g || '@example.org', false, true, now()
       FROM generate_series(1, %(annotators)s) g""",
    """INSERT INTO annotate_annotator (user_id, pseudonym, external_id, study_id, paused,
           paused_reason, created_at, ui_language)
       SELECT id, 'ann_' || md5(id::text), '', '', false, '', now(), '' FROM auth_user
       WHERE username LIKE 'bench%%'""",
    """INSERT INTO annotate_profileversion (annotator_id, version, created_at, age_band, gender,
           gender_self_describe, birth_country, residence_country, first_language,
           english_proficiency, education, employment, marital_status, ethnicity,
           ethnicity_self_describe, religion, religion_self_describe, ai_familiarity,
           ai_frequency, use_cases, pref_values, pref_creativity, pref_fluency,
           pref_factuality, pref_diversity, pref_safety, pref_personalisation,
           pref_helpfulness, self_description, system_prompt)
       SELECT id, 1, now(), (ARRAY['18-24','25-34','35-44','45-54'])[1 + id %% 4],
           (ARRAY['female','male','non_binary'])[1 + id %% 3], '',
           (ARRAY['GB','US','IN','BR','NG','DE','ZZ'])[1 + id %% 7],
           (ARRAY['GB','US','IN','BR','NG','DE','XK'])[1 + (id * 7) %% 7 ], 'English',
           'native', 'university', 'full_time', 'single', 'white', '', 'none', '', 'somewhat',
           'weekly', '["writing"]'::jsonb, 50, 50, 50, 80, 50, 70, 30, 90, '', ''
       FROM annotate_annotator""",
    """UPDATE annotate_annotator a SET current_profile_id = p.id
       FROM annotate_profileversion p WHERE p.annotator_id = a.id""",
    # Prompts, two responses each, pairwise items.
    """INSERT INTO annotate_prompt (campaign_id, text, messages, external_id, metadata,
           created_at)
       SELECT %(campaign)s, 'Question ' || g || ': why is the sky blue at noon but red at dusk?',
           jsonb_build_array(jsonb_build_object('role', 'user', 'content',
               'Question ' || g || ': why is the sky blue at noon but red at dusk?')),
           'q' || g, '{}'::jsonb, now()
       FROM generate_series(1, %(items)s) g""",
    """INSERT INTO annotate_response (prompt_id, text, source, generation_params, sample_index,
           metadata, created_at)
       SELECT p.id, 'Answer ' || s || ' to prompt ' || p.id || ': sunlight scatters off air '
           || 'molecules; short blue wavelengths scatter most, and at dusk the longer path '
           || 'through the atmosphere leaves mostly red light.', 'bench', '{}'::jsonb, s,
           '{}'::jsonb, now()
       FROM annotate_prompt p CROSS JOIN generate_series(0, 1) s
       WHERE p.campaign_id = %(campaign)s""",
    """INSERT INTO annotate_item (campaign_id, task_type, prompt_id, overlap, slots_taken,
           n_submitted, status, priority, is_gold, is_attention_check, metadata, created_at)
       SELECT %(campaign)s, 'pairwise', id, 10, 10, 10, 'open', 0, false, false, '{}'::jsonb,
           now()
       FROM annotate_prompt WHERE campaign_id = %(campaign)s""",
    """INSERT INTO annotate_itemresponse (item_id, response_id, position)
       SELECT i.id, r.id, r.sample_index FROM annotate_item i
       JOIN annotate_response r ON r.prompt_id = i.prompt_id
       WHERE i.campaign_id = %(campaign)s""",
    # Assignments: item j gets annotators (k * 200 + j) mod N for k in 0..9 (distinct).
    # Ids follow items, as in production: the lease query serves items in priority order,
    # so an item's overlap slots fill at about the same time.
    """CREATE TEMP TABLE bench_items AS
       SELECT row_number() OVER (ORDER BY i.id) - 1 AS j, i.id AS item_id,
              min(ir.response_id) AS a, max(ir.response_id) AS b
       FROM annotate_item i JOIN annotate_itemresponse ir ON ir.item_id = i.id
       WHERE i.campaign_id = %(campaign)s GROUP BY i.id""",
    """CREATE TEMP TABLE bench_annotators AS
       SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, current_profile_id
       FROM annotate_annotator""",
    """INSERT INTO annotate_assignment (item_id, annotator_id, campaign_id, status,
           presented_order, leased_at, lease_expires_at, finished_at, skip_reason)
       SELECT it.item_id, an.id, %(campaign)s, 'submitted', jsonb_build_array(it.a, it.b),
           now(), now(), now(), ''
       FROM bench_items it CROSS JOIN generate_series(0, %(per_item)s - 1) g(n)
       JOIN bench_annotators an ON an.k = (g.n * 200 + it.j) %% %(annotators)s
       ORDER BY it.j, g.n""",
    # The label columns (choice ... gold_correct, annotate.models.label_values) say what
    # the payload and flags say: SQL writes bypass the fields that fill them.
    """INSERT INTO annotate_annotation (assignment_id, item_id, campaign_id, annotator_id,
           task_type, payload, time_spent_ms, profile_version_id, flags, created_at,
           choice, shown_a, shown_b, strength, gold_correct)
       SELECT s.id, s.item_id, %(campaign)s, s.annotator_id, 'pairwise',
           CASE WHEN s.id %% 10 = 0 THEN jsonb_build_object('choice', 'tie', 'strength', 0,
                    'reason', '', 'response_ids', s.presented_order, 'chosen', null,
                    'rejected', null)
                ELSE jsonb_build_object('choice', 'A', 'strength', -1 - s.id %% 3,
                    'reason', '', 'response_ids', s.presented_order,
                    'chosen', s.presented_order->0, 'rejected', s.presented_order->1) END,
           1000 + s.id %% 50000, an.current_profile_id, '{}'::jsonb,
           now() - (s.id %% 100000) * interval '1 second',
           CASE WHEN s.id %% 10 = 0 THEN 0 ELSE 1 END, (s.presented_order->>0)::int8,
           (s.presented_order->>1)::int8,
           CASE WHEN s.id %% 10 = 0 THEN 0 ELSE -1 - s.id %% 3 END, NULL
       FROM annotate_assignment s JOIN bench_annotators an ON an.id = s.annotator_id
       WHERE s.campaign_id = %(campaign)s
       ORDER BY s.id""",
    "ANALYZE",
]


def populate(n_rows: int) -> tuple[object, float]:
    from django.db import connection

    from annotate.models import Annotation, Campaign

    campaign = Campaign.objects.filter(slug="bench-export").first()
    if (
        campaign is not None
        and campaign.config.get("bench_layout") == LAYOUT
        and Annotation.objects.filter(campaign=campaign).count() == n_rows
    ):
        return campaign, 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE annotate_annotation, annotate_assignment, annotate_itemresponse, "
            "annotate_item, annotate_response, annotate_prompt, annotate_profileversion, "
            "annotate_annotator, annotate_campaign, annotate_export, auth_user CASCADE"
        )
    campaign = Campaign.objects.create(
        slug="bench-export",
        name="Bench export",
        config={
            "privacy": {
                "profile_fields": ["age_band", "gender", "residence_country"],
                "k_anonymity": 5,
            },
            "bench_layout": LAYOUT,
        },
    )
    items = min(N_ITEMS, max(1, n_rows // 10))  # ten labels an item, as at 1M
    params = {
        "campaign": campaign.pk,
        "items": items,
        "annotators": N_ANNOTATORS,
        "per_item": max(1, n_rows // items),
    }
    with connection.cursor() as cursor:
        for statement in POPULATE:
            cursor.execute(statement, params)
    return campaign, time.perf_counter() - started


class PeakRSS:
    """Samples this process's resident memory every 20 ms while running."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_export(campaign: object, shape: str, fmt: str, total: int) -> None:
    from annotate.exports.shapes import ShapeOptions
    from annotate.exports.writers import Tally
    from annotate.services.exports import export_bytes, export_create, export_finish

    export = export_create(
        campaign=campaign,
        requested_by=None,
        shape=shape,
        fmt=fmt,
        options=ShapeOptions(),
        filters={},
    )
    proc = psutil.Process()
    before = proc.memory_info().rss
    tally = Tally()
    at_10 = {"rss": 0}

    def progress(n: int) -> None:
        if not at_10["rss"] and n >= total // 10:
            at_10["rss"] = proc.memory_info().rss

    started, cpu_started = time.perf_counter(), time.process_time()
    with PeakRSS() as peak:
        for _chunk in export_bytes(export, tally=tally, on_row=progress):
            pass
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    export_finish(export=export, tally=tally)
    mib = 1024 * 1024
    label = f"{shape}/{fmt}"
    print(f"{label} annotations: {total}")
    print(f"{label} rows written: {tally.rows}")
    print(f"{label} seconds: {elapsed:.1f}")
    print(f"{label} annotations/s: {total / elapsed:,.0f}")
    # Python CPU only (the database works in its own process); wall >> cpu means the
    # machine or the database was the limit.
    print(f"{label} python CPU seconds: {cpu:.1f}")
    print(f"{label} annotations per python CPU second: {total / max(cpu, 1e-9):,.0f}")
    print(f"{label} load average (1 min): {os.getloadavg()[0]:.1f}")
    print(f"{label} output MiB: {tally.size / mib:.1f}")
    print(f"{label} RSS before MiB: {before / mib:.0f}")
    print(f"{label} RSS after 10% MiB: {at_10['rss'] / mib:.0f}")
    print(f"{label} RSS peak MiB: {peak.peak / mib:.0f}")


GOAL_ROWS_PER_S = 200_000  # trl-preference jsonl on 1M annotations (issue 14)
GOAL_PEAK_MIB = 300  # peak RSS of the exporting Django process


def _value(lines: list[str], key: str) -> float:
    for line in lines:
        if line.startswith(key + ": "):
            return float(line.split(": ", 1)[1].replace(",", ""))
    return float("nan")


def _goals(lines: list[str], rows: int) -> None:
    """The issue's two goals, read off the children's lines."""
    rate = _value(lines, "trl-preference/jsonl annotations/s")
    cpu_rate = _value(lines, "trl-preference/jsonl annotations per python CPU second")
    peaks = {
        line.split(" RSS peak MiB")[0]: float(line.rsplit(": ", 1)[1])
        for line in lines
        if " RSS peak MiB: " in line
    }
    if rate == rate:  # measured (not NaN)
        met = rate >= GOAL_ROWS_PER_S and rows >= 1_000_000
        print(
            f"goal trl-preference/jsonl >= {GOAL_ROWS_PER_S:,} annotations/s on 1M: "
            f"{'met' if met else 'not met'} ({rate:,.0f}/s wall, {cpu_rate:,.0f}/s per "
            f"python CPU second, {rows:,} annotations)"
        )
    if peaks:
        worst = max(peaks, key=lambda k: peaks[k])
        print(
            f"goal peak RSS < {GOAL_PEAK_MIB} MiB: "
            f"{'met' if peaks[worst] < GOAL_PEAK_MIB else 'not met'} "
            f"(highest {peaks[worst]:.0f} MiB, {worst})"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 1_000_000)))
    parser.add_argument(
        "--exports",
        default="trl-preference/jsonl,trl-preference/parquet,raw/csv,raw/parquet",
        help="comma list of shape/format",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.child:
        return _parent(args)

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
    url = bench_database_url(base, args.rows)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    campaign, seconds = populate(args.rows)
    print(f"database: {urlsplit(url).path.lstrip('/')}")
    if seconds:
        print(f"populate seconds ({args.rows} annotations): {seconds:.1f}")
    else:
        print("populate: reused the existing bench data")
    from annotate.models import Annotation

    total = Annotation.objects.filter(campaign=campaign).count()
    for spec in args.exports.split(","):
        shape, fmt = spec.split("/")
        run_export(campaign, shape, fmt, total)
    return 0


def _parent(args: argparse.Namespace) -> int:
    """Migrate once, then run each export in a process of its own, as a web or Celery
    worker would: its RSS is the export's plus Django's, not the migration graph's or an
    earlier export's (CPython keeps freed arenas)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
    url = bench_database_url(base, args.rows)
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, str(root / "manage.py"), "migrate", "--verbosity", "0"],
        env=env,
        check=True,
    )
    print(f"load average at start (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lines: list[str] = []
    for n, spec in enumerate(args.exports.split(",")):
        child = subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--exports", spec, "--child"],
            env=os.environ.copy(),
            check=True,
            capture_output=True,
            text=True,
        )
        out = child.stdout.splitlines()
        # The database and populate lines once; the export's own lines every time.
        print("\n".join(out if n == 0 else [x for x in out if x.startswith(spec)]), flush=True)
        lines += out
    _goals(lines, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
