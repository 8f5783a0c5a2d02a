"""Counting fuzz cases per surface, and the artifact the closing note quotes.

Each fuzz test records every request it sent (``Tally.record``) under a surface name
(a page, an API operation, a command). At the end it writes
``test-artifacts/fuzz-<suite>.json`` with, per surface, the cases tried and the answers
>= 500 (with the first few failing inputs, shortened), then fails if any answer was a
server error.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEEP = 3  # failing examples kept per surface


def _short(value: Any, n: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 20] + f"... ({len(text)} chars)"


@dataclass
class Tally:
    suite: str
    tried: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def record(self, surface: str, status: int, sent: Any) -> None:
        self.tried[surface] += 1
        self.statuses[surface][status] += 1
        if status >= 500:
            self.errors[surface] += 1
            if len(self.examples[surface]) < KEEP:
                self.examples[surface].append(f"{status}: {_short(sent)}")

    def summary(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "cases": sum(self.tried.values()),
            "server_errors": sum(self.errors.values()),
            "surfaces": {
                name: {
                    "cases": self.tried[name],
                    "server_errors": self.errors.get(name, 0),
                    "statuses": dict(sorted(self.statuses[name].items())),
                    **({"examples": self.examples[name]} if self.examples.get(name) else {}),
                }
                for name in sorted(self.tried)
            },
        }

    def save(self) -> Path:
        folder = Path(os.environ.get("CHORUS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"fuzz-{self.suite}.json"
        path.write_text(json.dumps(self.summary(), indent=2, ensure_ascii=True))
        return path

    def assert_clean(self) -> None:
        path = self.save()
        bad = {k: v for k, v in self.errors.items() if v}
        assert sum(self.tried.values()) > 0, "no fuzz case ran"
        assert not bad, f"answers >= 500 per surface: {bad}; inputs in {path}"
