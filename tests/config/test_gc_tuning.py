"""The web worker's collector settings (config/gc_tuning.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from config.gc_tuning import freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_startup_objects_are_frozen_and_new_cycles_are_still_collected() -> None:
    before = gc.get_freeze_count()
    freeze_startup_objects()
    try:
        assert gc.get_freeze_count() > before + 10_000
        node = _Node()
        ref = weakref.ref(node)
        del node
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()


def test_a_wsgi_worker_freezes_at_import() -> None:
    """What gunicorn does in each worker: import config.wsgi, then serve."""
    code = (
        "import gc, sys, config.wsgi; "
        "print(gc.get_freeze_count(), 'annotate.views.tasks' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 50_000 and out[1] == "True"
