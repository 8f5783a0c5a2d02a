"""PostgreSQL restarts under load: clear 503s (never a 500), no partial writes, and the
running gunicorn recovers by itself.

Runs on a private PostgreSQL cluster (initdb into a temp dir, its own port): the shared
server on 5432 is never touched. The schema comes from this run's test database.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from annotate.simulation.driver import RunResult, run_crowd
from annotate.simulation.model import CrowdConfig, draw_people, make_response
from tests.config.helpers import free_port, wait_until

from .conftest import ROOT, child_env, db_url_for_children, gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CONFIG = CrowdConfig(seed=12)


class Cluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="chorus-ops-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def init(self) -> None:
        self._pg(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()


def _copy_schema(cluster: Cluster) -> str:
    """The test database (migrated, still empty) copied into the private cluster."""
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "fault"],
        check=True,
        timeout=30,
    )
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", db_url_for_children()],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", cluster.url("fault")],
        input=dump.stdout,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return cluster.url("fault")


def _sql(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_postgres_restart_under_load(cluster, tmp_path):
    url = _copy_schema(cluster)
    env = child_env(DATABASE_URL=url, OPS_LOG_DIR=str(tmp_path))
    made = subprocess.run(
        ["python", "-m", "tests.ops.ops_script", "make_campaign", "pg-restart"],
        cwd=ROOT,
        env={**env, "PATH": f"{Path(__import__('sys').executable).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    rows = _sql(url, "SELECT r.id, r.source FROM annotate_response r")
    lookup = {rid: make_response(CONFIG, rid, int(src.rsplit("-", 1)[1])) for rid, src in rows}
    results: list[RunResult] = []
    with gunicorn(env) as base:
        probe = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        probe.get("/accounts/signup/")
        probe.post(
            "/accounts/signup/",
            data={
                "username": "probe",
                "password1": "probe-pass-123456",
                "password2": "probe-pass-123456",
                "csrfmiddlewaretoken": probe.cookies["csrftoken"],
            },
        )
        assert probe.get("/consent/").status_code == 200
        crowd = threading.Thread(
            target=lambda: results.append(
                run_crowd(
                    base_url=base,
                    campaign_slug="pg-restart",
                    people=draw_people(CONFIG, 4),
                    config=CONFIG,
                    lookup=lookup.__getitem__,
                    duration_s=18,
                )
            )
        )
        crowd.start()
        assert wait_until(
            lambda: _sql(url, "SELECT count(*) FROM annotate_annotation")[0][0] >= 6, timeout=30
        )
        cluster.stop("fast")
        # While PostgreSQL is down: clear 503s with Retry-After, HTML or JSON.
        page = probe.get("/profile/")
        fragment = probe.get("/profile/", headers={"HX-Request": "true"})
        time.sleep(1.5)
        cluster.start()
        restarted = time.monotonic()
        crowd.join(timeout=60)
        # The same gunicorn, never restarted, serves again.
        assert probe.get("/consent/").status_code == 200
    assert page.status_code == 503 and "Retry-After" in page.headers
    assert b"briefly unavailable" in page.content
    assert fragment.status_code == 503 and fragment.json()["code"] == "database_unavailable"
    (result,) = results
    codes = result.codes()
    assert 500 not in codes, codes
    assert not [p.failure for p in result.people if p.failure]
    after = [t for p in result.people for t, _ in p.submit_times if t > restarted]
    assert after, "nobody could submit after the restart"

    # No partial writes: every label has its closed assignment and is counted on its item.
    submitted = {a for p in result.people for a in p.submitted}
    stored = {r[0] for r in _sql(url, "SELECT assignment_id FROM annotate_annotation")}
    assert stored == submitted
    assert (
        _sql(
            url,
            """
        SELECT count(*) FROM annotate_annotation an
        JOIN annotate_assignment a ON a.id = an.assignment_id WHERE a.status <> 'submitted'
    """,
        )[0][0]
        == 0
    )
    assert (
        _sql(
            url,
            """
        SELECT count(*) FROM annotate_assignment a
        LEFT JOIN annotate_annotation an ON an.assignment_id = a.id
        WHERE a.status = 'submitted' AND an.id IS NULL
    """,
        )[0][0]
        == 0
    )
    assert (
        _sql(
            url,
            """
        SELECT count(*) FROM annotate_item i WHERE i.n_submitted <>
          (SELECT count(*) FROM annotate_annotation an WHERE an.item_id = i.id)
          OR i.slots_taken <> (SELECT count(*) FROM annotate_assignment a
                               WHERE a.item_id = i.id AND a.status IN ('active', 'submitted'))
          OR i.slots_taken > i.overlap
    """,
        )[0][0]
        == 0
    )
