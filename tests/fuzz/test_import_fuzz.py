"""Fuzz the import commands with hostile files: a clear message, never a traceback.

``import_items`` (both formats, with and without ``--skip-bad``) gets JSON lines near a
valid record with one value or key made hostile, raw lines no serializer writes (50,000
levels deep, NaN, 1e400, 5,000-digit numbers, escaped NUL and surrogates) and bytes
that are not UTF-8; ``pool_prompts`` gets .txt and .jsonl files of such lines and raw
binary; ``import_feedback`` CSV files with hostile cells. A "server error" here is any
exception other than CommandError (whose message Django prints without a traceback),
or a CommandError without a message. Counts go to test-artifacts/fuzz-imports.json.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from annotate.models import Item
from tests.factories import CampaignFactory
from tests.fuzz.strategies import BINARY, HOSTILE_TEXT, encode, mutated_json
from tests.fuzz.tally import Tally
from tests.fuzz.world import FUZZ

pytestmark = pytest.mark.slow
HH = {
    "chosen": "\n\nHuman: Hi?\n\nAssistant: Hello.",
    "rejected": "\n\nHuman: Hi?\n\nAssistant: Go.",
}
GENERIC = {
    "id": "q1",
    "prompt": [{"role": "user", "content": "How do tides work?"}],
    "responses": ["The moon.", {"text": "Wind.", "source": "m", "metadata": {"k": 1}}],
    "task_type": "pairwise",
    "metadata": {"topic": "tides", "score": 0.5},
}
_counter = itertools.count()


def _lines(template: Any) -> st.SearchStrategy[bytes]:
    line = st.one_of(
        mutated_json(template).map(encode), BINARY.map(lambda b: b.replace(b"\n", b" "))
    )
    return st.lists(line, min_size=1, max_size=3).map(lambda ls: b"\n".join(ls) + b"\n")


def _run(tally: Tally, surface: str, sent: Any, command: str, *args: str) -> None:
    """Call the command; record 0 for a clean outcome, 500 for a traceback."""
    try:
        call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as exc:
        status = 400 if str(exc).strip() else 500
    except SystemExit as exc:  # argparse refusing an option
        status = 400 if exc.code else 0
    except Exception:  # a traceback in front of the user
        status = 500
    else:
        status = 0
    tally.record(surface, status, sent)


@pytest.fixture
def tally() -> Tally:
    return Tally("imports")


def _fuzz_import_items(tmp: Path, tally: Tally, fmt: str, template: Any, skip_bad: bool) -> None:
    campaign = CampaignFactory()
    surface = f"import_items --format {fmt}" + (" --skip-bad" if skip_bad else "")

    @FUZZ
    @given(body=_lines(template))
    def run(body: bytes) -> None:
        path = tmp / f"in-{next(_counter)}.jsonl"
        path.write_bytes(body)
        before = Item.objects.filter(campaign=campaign).count()
        flags = ["--skip-bad"] if skip_bad else []
        _run(
            tally,
            surface,
            body,
            "import_items",
            str(path),
            f"--campaign={campaign.slug}",
            f"--format={fmt}",
            "--no-progress",
            *flags,
        )
        if not skip_bad:
            # All or nothing: a rejected file writes no item.
            assert Item.objects.filter(campaign=campaign).count() in (
                before,
                before + len(body.splitlines()),
            )

    run()


def _fuzz_pool_prompts(tmp: Path, tally: Tally, suffix: str) -> None:
    campaign = CampaignFactory()
    text_lines = st.lists(HOSTILE_TEXT.map(encode), min_size=1, max_size=3).map(b"\n".join)
    json_lines = _lines({"prompt": "How do tides work?"})
    body_strategy = st.one_of(json_lines if suffix == ".jsonl" else text_lines, BINARY)

    @FUZZ
    @given(body=body_strategy)
    def run(body: bytes) -> None:
        path = tmp / f"prompts-{next(_counter)}{suffix}"
        path.write_bytes(body)
        _run(tally, f"pool_prompts {suffix}", body, "pool_prompts", campaign.slug, str(path))

    run()


def _fuzz_import_feedback(tmp: Path, tally: Tally) -> None:
    campaign = CampaignFactory()
    cell = st.one_of(st.sampled_from(["How?", "", "7", "(a)", "equal"]), HOSTILE_TEXT)

    def csv_body(rows: list[list[str]]) -> bytes:
        return b"\n".join(
            b",".join(b'"' + encode(c).replace(b'"', b'""') + b'"' for c in row) for row in rows
        )

    ratings = st.lists(st.lists(cell, min_size=4, max_size=4), min_size=1, max_size=2).map(csv_body)
    rankings = st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=2).map(
        csv_body
    )

    @FUZZ
    @given(ratings=st.one_of(ratings, BINARY), rankings=st.one_of(rankings, BINARY))
    def run(ratings: bytes, rankings: bytes) -> None:
        n = next(_counter)
        r, k = tmp / f"ratings-{n}.csv", tmp / f"rankings-{n}.csv"
        r.write_bytes(ratings)
        k.write_bytes(rankings)
        _run(
            tally,
            "import_feedback",
            (ratings, rankings),
            "import_feedback",
            f"--campaign={campaign.slug}",
            "--format=sparse-feedback",
            f"--ratings={r}",
            f"--rankings={k}",
        )

    run()


def test_import_commands_never_show_a_traceback(db, tmp_path, tally):
    for fmt, template in (("hh-rlhf", HH), ("jsonl", GENERIC)):
        for skip_bad in (False, True):
            _fuzz_import_items(tmp_path, tally, fmt, template, skip_bad)
    for suffix in (".txt", ".jsonl"):
        _fuzz_pool_prompts(tmp_path, tally, suffix)
    _fuzz_import_feedback(tmp_path, tally)
    tally.assert_clean()
