"""Issue 14's step of the acceptance run: stale leases are expired by the real beat and
worker, not by every lease.

- beat's schedule (django-celery-beat's table, filled from CELERY_BEAT_SCHEDULE when beat
  starts) holds ``assignments-expire``, run every ``CHORUS_LEASE_EXPIRY_EVERY_S``
  (``SERVER_ENV``: 2 s here, 30 s by default);
- a participant signs up in Chromium and opens the conversation campaign, which leases
  them a task; their lease is then made to run out (its expiry set in the past, the one
  write this step does from outside: time passing), and within seconds the worker,
  started by beat, has marked it expired and freed its item's slot;
- the worker's log shows the task succeeding.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.e2e.browser import Participant
from tests.e2e.harness import StudyServer

SERVER_ENV = {"CHORUS_LEASE_EXPIRY_EVERY_S": "2"}
TASK = "annotate.tasks.assignments_expire"


def _write(server: StudyServer, sql: str) -> None:
    """One UPDATE, committed (Database.rows only reads)."""
    db = server.db
    if db.url:
        import psycopg

        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(sql)
        return
    assert db.sqlite_path is not None
    conn = sqlite3.connect(db.sqlite_path, timeout=30)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def leases_expire_by_beat(server: StudyServer, browser: Any, slug: str, shots: Path) -> float:
    """Returns the seconds from the lease running out to the worker expiring it."""
    task = server.db.value(
        "SELECT task FROM django_celery_beat_periodictask WHERE name = 'assignments-expire'"
    )
    assert task == TASK, f"beat has no lease-expiry entry (found {task!r})"

    who = Participant(browser, server.url, "lease-runs-out", shots)
    try:
        who.onboard(f"/c/{slug}/")
        who.page.wait_for_load_state()
    finally:
        who.close()
    found: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:  # the last click's page is loading
        found = server.db.rows(
            "SELECT a.id, a.item_id FROM annotate_assignment a "
            "JOIN annotate_annotator n ON n.id = a.annotator_id "
            "JOIN auth_user u ON u.id = n.user_id "
            "WHERE u.username = 'lease-runs-out' AND a.status = 'active'"
        )
        time.sleep(0.3)
    assert len(found) == 1, f"the participant should hold one lease, found {found}"
    ((assignment_id, item_id),) = found
    slots_before = server.db.value(f"SELECT slots_taken FROM annotate_item WHERE id = {item_id}")
    _write(
        server,
        "UPDATE annotate_assignment SET lease_expires_at = '2000-01-01 00:00:00+00:00' "
        f"WHERE id = {assignment_id}",
    )
    started = time.monotonic()
    status = "active"
    while time.monotonic() - started < 60:
        status = server.db.value(
            f"SELECT status FROM annotate_assignment WHERE id = {assignment_id}"
        )
        if status == "expired":
            break
        time.sleep(0.5)
    waited = time.monotonic() - started
    assert status == "expired", f"the worker did not expire the stale lease in 60 s ({status})"
    slots_after = server.db.value(f"SELECT slots_taken FROM annotate_item WHERE id = {item_id}")
    assert slots_after == slots_before - 1, (slots_before, slots_after)
    assert f"{TASK}[" in server.log_text() and "succeeded" in server.log_text()
    return waited
