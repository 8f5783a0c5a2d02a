"""Garbage-collector settings for long-running web processes (gunicorn workers).

A web worker imports ~140k objects at start (Django, DRF, numpy, scipy and pyarrow for
the analytics and export views) that live as long as the process. CPython's full
collection walks all of them: measured under bench_load on the 2-core box, one took
270-610 ms, with every thread of that worker stopped behind it, and a gen-1 collection
up to 80 ms. Those pauses were the p99 of the task page and submit, and they differ
from run to run, so throughput did too.

``freeze_startup_objects`` imports what the first requests would (every URL's view
module), collects once, and moves every surviving object to the permanent generation
(``gc.freeze``), which no later collection walks. Cycles created while serving are
still collected. The thresholds stay at CPython's defaults: a gen-0 trigger of 10,000
instead of 700 made each young collection cost 30-120 ms and the total no smaller.
"""

from __future__ import annotations

import gc

from django.urls import get_resolver


def freeze_startup_objects() -> None:
    get_resolver().url_patterns  # imports every urlconf and view module  # noqa: B018
    gc.collect()
    gc.freeze()
