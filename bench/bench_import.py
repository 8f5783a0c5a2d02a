"""Import speed: ``import_items --format hh-rlhf`` of the 2,312-pair shared file.

Uses its own scratch database (the configured name + ``_import``, dropped and recreated),
so it never touches another benchmark's data. Prints parse-only speed, then for each of
three runs into a fresh campaign the whole command's wall time and the write phase
alone, and checks the item count each time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus_bench python bench/bench_import.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")
base, _, name = os.environ["DATABASE_URL"].rpartition("/")
os.environ["DATABASE_URL"] = f"{base}/{name.split('?')[0]}_import"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from annotate.importers import ParsedRow, parser_for, read_rows  # noqa: E402
from annotate.models import Item  # noqa: E402
from annotate.services import campaign_create  # noqa: E402
from annotate.services.imports import item_spec_from_row, items_import  # noqa: E402
from bench.common import fresh_database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
RUNS = 3


def main() -> int:
    if not DATA.is_file():
        print(f"bench_import: {DATA} missing, nothing to measure")
        return 0
    if connection.vendor != "postgresql":
        print("bench_import: needs PostgreSQL (DATABASE_URL)")
        return 1
    fresh_database()

    started = time.perf_counter()
    rows = [r for r in read_rows(DATA, parser_for("hh-rlhf")) if isinstance(r, ParsedRow)]
    specs = [item_spec_from_row(r) for r in rows]
    for spec in specs:
        spec.check()
    parse_s = time.perf_counter() - started
    print(f"parse+validate: {len(specs)} rows in {parse_s:.2f} s ({len(specs) / parse_s:,.0f}/s)")

    totals, writes = [], []
    for run in range(RUNS):
        slug = f"bench-import-{run}"
        campaign_create(slug=slug, name=slug)
        t0 = time.perf_counter()
        call_command(
            "import_items", str(DATA), campaign=slug, fmt="hh-rlhf", no_progress=True,
            stdout=StringIO(),
        )  # fmt: skip
        totals.append(time.perf_counter() - t0)
        n = Item.objects.filter(campaign__slug=slug).count()
        if n != len(specs):
            print(f"FAILED: run {run} created {n} items, expected {len(specs)}")
            return 1
        write_campaign = campaign_create(slug=f"{slug}-w", name=f"{slug}-w")
        t0 = time.perf_counter()
        items_import(campaign=write_campaign, specs=specs)
        writes.append(time.perf_counter() - t0)
    n_rows = sum(1 for _ in Item.objects.filter(campaign__slug="bench-import-0"))
    print(
        f"import_items hh-rlhf, {n_rows} pairs: median {statistics.median(totals):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in totals)}), "
        f"{n_rows / statistics.median(totals):,.0f} items/s"
    )
    print(
        f"write phase only (items_import): median {statistics.median(writes):.2f} s, "
        f"{n_rows / statistics.median(writes):,.0f} items/s"
    )
    t0 = time.perf_counter()
    call_command(
        "import_items", str(DATA), campaign="bench-import-0", fmt="hh-rlhf", no_progress=True,
        stdout=StringIO(),
    )  # fmt: skip
    reimport_s = time.perf_counter() - t0
    print(f"re-import (all rows already present, nothing written): {reimport_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
