"""Redis stops while annotators submit: every submission still succeeds (labels live in
PostgreSQL), generation queued meanwhile is kept, and resumes when Redis returns.

A private redis-server (never the shared one), a real gunicorn using it as broker, the
simulated crowd submitting over HTTP, and a real Celery worker once Redis is back.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from annotate.models import Annotation
from annotate.services.simulation import simulation_campaign_create, simulation_lookup
from annotate.simulation.driver import RunResult, percentile, run_crowd
from annotate.simulation.model import CrowdConfig, draw_people
from modelserve.generation.models import GenerationRequest, ModelEndpoint
from tests.config.helpers import wait_until
from tests.factories import PromptFactory

from .conftest import ROOT, celery_worker, child_env, db_url_for_children, gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CONFIG = CrowdConfig(seed=11)


def _script(env, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.ops.ops_script", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_submissions_survive_redis_outage_and_generation_resumes(private_redis, tmp_path):
    # Enough work that nobody runs out before Redis is stopped: with 6 prompts (96 tasks)
    # the crowd finished about 1 s after the stop on an idle box once the submit path got
    # faster (issue 14), and on a loaded CI box too few submissions fell in the outage.
    campaign = simulation_campaign_create(slug="redis-down", n_models=3, n_prompts=30, overlap=4)
    endpoint = ModelEndpoint.objects.create(name="fake-pool", backend="fake", model="echo")
    endpoint.campaigns.add(campaign)  # leases now also try to enqueue pool top-ups
    bare = PromptFactory(campaign=campaign, text="A prompt waiting for generation")
    lookup = simulation_lookup(campaign=campaign, config=CONFIG)
    env = child_env(
        DATABASE_URL=db_url_for_children(),
        CELERY_BROKER_URL=private_redis.url,
        CELERY_RESULT_BACKEND=private_redis.url,
        OPS_LOG_DIR=str(tmp_path),
        CHORUS_MODEL_DIR=str(tmp_path / "models"),
    )
    results: list[RunResult] = []
    with gunicorn(env) as url:
        crowd = threading.Thread(
            target=lambda: results.append(
                run_crowd(
                    base_url=url,
                    campaign_slug=campaign.slug,
                    people=draw_people(CONFIG, 4),
                    config=CONFIG,
                    lookup=lookup.__getitem__,
                    duration_s=14,
                    retry_503=False,
                )
            )
        )
        crowd.start()
        assert wait_until(
            lambda: Annotation.objects.filter(campaign=campaign).count() >= 4, timeout=30
        )
        private_redis.stop()
        stopped_at = time.monotonic()
        # Generation requested while the broker is down: stored, not lost, no error.
        out = _script(env, "create_generation", str(campaign.pk), str(bare.pk))
        request_ids = [int(x) for x in out.split()[-1].split(",")]
        crowd.join(timeout=60)
    (result,) = results
    assert not [p.failure for p in result.people if p.failure]
    assert result.errors() == {}, (
        result.errors(),
        result.codes(),
        [e for p in result.people for e in p.transport_errors],
    )
    after = [t for p in result.people for t, _ in p.submit_times if t > stopped_at + 0.5]
    assert len(after) >= 4, "no submissions were made while Redis was down"
    submitted = [a for p in result.people for a in p.submitted]
    stored = set(
        Annotation.objects.filter(campaign=campaign).values_list("assignment_id", flat=True)
    )
    assert stored == set(submitted) and len(submitted) == len(set(submitted))
    assert percentile(result.latencies("submit"), 95) < 5000, result.latencies("submit")
    pending = GenerationRequest.objects.filter(pk__in=request_ids)
    assert [(r.status, r.celery_task_id) for r in pending] == [("pending", "")]

    # Redis returns: the sweep re-sends the request and a worker generates it.
    private_redis.start()
    with celery_worker(env, "generate", tmp_path / "worker.log"):
        assert "requeued 1" in _script(env, "requeue")
        assert wait_until(
            lambda: (
                GenerationRequest.objects.filter(pk__in=request_ids, status="done").count()
                == len(request_ids)
            ),
            timeout=40,
        ), (tmp_path / "worker.log").read_text()[-3000:]
