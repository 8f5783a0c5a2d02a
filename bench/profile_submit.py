"""cProfile of the submit + next-task path (issue 14), in process, on PostgreSQL.

One onboarded annotator answers pairwise tasks through Django's test client the way the
task page does (htmx POST: the answer comes back with the next task's fragment). After
a few warm-up submits, ``CHORUS_PROFILE_SUBMITS`` (default 200) are profiled; prints the
profiled time per submit, the SQL statements per submit, and the top 10 functions by
own time and Chorus's top 10 by cumulative time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus python bench/profile_submit.py
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus")
os.environ["DATABASE_URL"] = _base.rsplit("/", 1)[0] + "/chorus_bench_profile"
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from annotate.models import Assignment, AssignmentStatus  # noqa: E402
from annotate.selectors.onboarding import consent_document  # noqa: E402
from annotate.services import annotator_get_or_create, profile_version_create  # noqa: E402
from annotate.services.onboarding import consent_give  # noqa: E402
from annotate.services.simulation import simulation_campaign_create  # noqa: E402
from bench.common import PROFILE, fresh_database  # noqa: E402

N = int(os.environ.get("CHORUS_PROFILE_SUBMITS", "200"))
HX = {"HTTP_HX_REQUEST": "true"}


def main() -> None:
    fresh_database()
    campaign = simulation_campaign_create(slug="profile", n_models=4, n_prompts=N + 40, overlap=3)
    user = get_user_model().objects.create_user(username="profile-0", password="not-used-1")
    annotator = annotator_get_or_create(user=user)
    doc = consent_document(campaign=None)
    consent_give(annotator=annotator, campaign=None, version=doc.version, text_sha256=doc.sha256)
    profile_version_create(annotator=annotator, **PROFILE)
    annotator_id = annotator.pk
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    client.get(f"/c/{campaign.slug}/")

    def answer(current: Assignment) -> dict[str, str]:
        order, task_type = current.presented_order, current.item.task_type
        attributes = current.campaign.rating_attributes
        if task_type == "ranking":
            return {f"rank_{rid}": str(i + 1) for i, rid in enumerate(order)}
        if task_type == "rating":
            return {f"rating_{rid}_{a}": "5" for rid in order for a in attributes}
        if task_type == "edit":
            text = current.item.responses.get().text
            return {"response_id": str(order[0]), "edited_text": text + " Edited."}
        if task_type == "critique":
            return {"critique": "Too vague.", "spans": "[]"}
        return {"choice": "A", "strength": "2"}

    def submit(profiler: cProfile.Profile | None = None) -> None:
        current = Assignment.objects.select_related("item", "campaign").get(
            annotator_id=annotator_id, status=AssignmentStatus.ACTIVE
        )
        data = answer(current)
        if profiler is not None:
            profiler.enable()
        response = client.post(f"/tasks/{current.pk}/submit/", data, **HX)
        if profiler is not None:
            profiler.disable()
        assert response.status_code == 200, response.content[:300]

    for _ in range(10):  # warm caches, connections, templates
        submit()
    with CaptureQueriesContext(connection) as captured:
        submit()
    # The lookup of the current assignment (and an edit's text) is the benchmark's own.
    statements = len(captured.captured_queries) - 1
    profiler = cProfile.Profile()
    for _ in range(N):
        submit(profiler)
    elapsed = pstats.Stats(profiler).total_tt
    print(
        f"load average {os.getloadavg()[0]:.1f}; {N} submits (htmx, mixed task types) in "
        f"{elapsed:.2f} s of profiled time: {1000 * elapsed / N:.1f} ms per submit + next "
        f"task, {statements} SQL statements per submit",
        flush=True,
    )
    # Own time over everything; cumulative time over Chorus's own functions (the
    # cumulative list over everything is only the request's call chain).
    for key, only in (("tottime", ""), ("cumulative", r"/(annotate|config)/")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(key)
        stats.print_stats(*([only] if only else []), 10)
        text = out.getvalue()
        print(f"--- top 10 by {key}{' (Chorus code)' if only else ''}")
        print(text[text.index("   ncalls") :].rstrip(), flush=True)


if __name__ == "__main__":
    main()
