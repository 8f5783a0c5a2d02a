"""Read ahead: an export's chunked reads run in a thread of their own (issue 14).

An export alternates between waiting for PostgreSQL (a chunk's COPY and its items'
query: about 2.5 s of 7 at 1M trl-preference labels) and shaping what came back in
Python, and each waits for the other. With the reads in a second thread, PostgreSQL
works on the next chunk while this one is shaped: psycopg releases the GIL while it
waits, and the database is another process, on the other core.

The thread has its own database connection, so it sees only what is committed: inside
a transaction (``atomic``; the tests' own, or a caller's) the reads stay in the caller's
thread, on its connection, one chunk at a time as before. Errors in the thread are
raised in the caller's; when the caller stops early (a client hung up), the thread
finishes the chunk it is reading and ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db import connection, connections

T = TypeVar("T")

_ITEM, _ERROR, _DONE = "item", "error", "done"
_POLL_S = 0.1  # how often a blocked producer looks whether the consumer went away


def _here() -> bool:
    """Whether reads must stay in this thread: not PostgreSQL, or inside a transaction
    (another connection would not see its uncommitted rows)."""
    return connection.vendor != "postgresql" or connection.in_atomic_block


def read_ahead(
    make: Callable[[], Iterator[T]],
    *,
    depth: int = 1,
    setup: Callable[[], None] | None = None,
) -> Iterator[T]:
    """What ``make()`` yields, produced up to ``depth`` items ahead in another thread
    (PostgreSQL, outside a transaction); else ``make()`` itself, here. ``setup()`` runs
    first in that thread, for settings of its connection alone (not run here)."""
    if _here():
        yield from make()
        return
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            if setup is not None:
                setup()
            for value in make():
                if not put((_ITEM, value)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # raised again in the consumer's thread
            put((_ERROR, exc))
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=produce, name="chorus-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


def in_background(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn()`` started in another thread (PostgreSQL, outside a transaction: the same
    rule as ``read_ahead``), else run here at once. Returns a function that waits for
    its value and returns it, or raises its error."""
    if _here():
        value = fn()
        return lambda: value
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # raised again by result()
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=run, name="chorus-background", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result
