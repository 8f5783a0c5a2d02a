"""The fuzzers of the test suite, run deeper: more examples per surface, random seeds.

CI runs tests/fuzz and the schemathesis test with a small, derandomised budget (about a
minute in all). This runs the same tests with ``--examples`` per surface (default 200)
and fresh random examples each time, then prints, per suite and per surface, the cases
tried and the answers >= 500 (from test-artifacts/fuzz-<suite>.json), so a long run can
look for what the short one cannot. Needs PostgreSQL and Redis like ``make test``.

    python bench/fuzz_deep.py [--examples 200] [--schema-examples 50]
                              [--suite forms|api|imports|schema ...]

It is not a bench_*.py, so ``make bench`` leaves it out (it takes tens of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = {
    "forms": "tests/fuzz/test_forms_fuzz.py",
    "api": "tests/fuzz/test_api_fuzz.py",
    "imports": "tests/fuzz/test_import_fuzz.py",
    "schema": "tests/annotate/api/test_schema_fuzz.py",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per surface")
    parser.add_argument(
        "--schema-examples", type=int, default=50, help="schemathesis: per operation and user"
    )
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="default: all")
    args = parser.parse_args()
    artifacts = Path(os.environ.get("CHORUS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    env = {
        **os.environ,
        "CHORUS_FUZZ_EXAMPLES": str(args.examples),
        "CHORUS_FUZZ_SCHEMA_EXAMPLES": str(args.schema_examples),
        "CHORUS_FUZZ_RANDOM": "1",
        "CHORUS_TEST_ARTIFACTS": str(artifacts),
    }
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    status = 0
    for suite in args.suite or list(SUITES):
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SUITES[suite]]
        status |= subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
        report = json.loads((artifacts / f"fuzz-{suite}.json").read_text())
        print(f"fuzz {suite}: {report['cases']} cases, {report['server_errors']} answers >= 500")
        for name, row in report["surfaces"].items():
            print(f"  {name}: {row['cases']} cases, {row['server_errors']} >= 500")
    return status


if __name__ == "__main__":
    sys.exit(main())
