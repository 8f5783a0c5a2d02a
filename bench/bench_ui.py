"""Annotator pages: latency of a task page and of a submit, on PostgreSQL, demo data.

Drives the whole Django stack (middleware, sessions, auth, ORM, templates) through
Django's test Client, in process, so the figures are server time without network or a
WSGI server. Scratch database: the DATABASE_URL database name + "_bench_ui" (dropped and
re-created every run, so it never touches the database the URL names).

Per cycle, for each of several onboarded annotators on the demo campaign: GET the task
page (full HTML), then POST the answer as htmx does; the submit's answer includes the
NEXT task's fragment (that is what the browser waits for). Prints median/p95 in ms and
the SQL query count of one request of each kind.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus python bench/bench_ui.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus"))
os.environ["DATABASE_URL"] = urlunsplit(_url._replace(path=_url.path.rstrip("/") + "_bench_ui"))
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from annotate.models import Assignment, AssignmentStatus, Campaign, Item, TaskType  # noqa: E402
from annotate.selectors.onboarding import consent_document  # noqa: E402
from annotate.services import annotator_get_or_create, profile_version_create  # noqa: E402
from annotate.services.demo import DEMO_SLUG, demo_seed  # noqa: E402
from annotate.services.onboarding import consent_give  # noqa: E402
from bench.common import PROFILE, fresh_database  # noqa: E402

N_ANNOTATORS = int(os.environ.get("BENCH_UI_ANNOTATORS", "12"))
MAX_CYCLES = int(os.environ.get("BENCH_UI_CYCLES", "240"))
HX = {"HX-Request": "true"}


def answer(assignment: Assignment, campaign: Campaign) -> dict[str, str]:
    order = assignment.presented_order
    task_type = assignment.item.task_type
    data = {"time_spent_ms": "5000"}
    if task_type == TaskType.PAIRWISE:
        data |= {"choice": "A", "strength": "1", "reason": "clearer"}
    elif task_type == TaskType.RANKING:
        data |= {f"rank_{rid}": str(n + 1) for n, rid in enumerate(order)}
    elif task_type == TaskType.RATING:
        data |= {f"rating_{rid}_{a}": "5" for rid in order for a in campaign.rating_attributes}
    elif task_type == TaskType.EDIT:
        text = assignment.item.responses.get().text
        data |= {"response_id": str(order[0]), "edited_text": text + " Edited."}
    else:
        data |= {"critique": "Too long.", "suggestion": "Shorter.", "spans": "[]"}
    return data


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    fresh_database()
    demo_seed()
    campaign = Campaign.objects.get(slug=DEMO_SLUG)
    # The demo has 21 items at overlap 2; let every bench annotator see every item.
    Item.objects.filter(campaign=campaign).update(overlap=N_ANNOTATORS)
    clients = []
    User = get_user_model()
    for n in range(N_ANNOTATORS):
        user = User.objects.create_user(f"bench-ui-{n}", password=None)
        annotator = annotator_get_or_create(user=user)
        doc = consent_document(campaign=campaign)
        consent_give(
            annotator=annotator, campaign=doc.campaign, version=doc.version,
            text_sha256=doc.sha256,
        )  # fmt: skip
        profile_version_create(annotator=annotator, **PROFILE)
        client = Client()
        client.force_login(user)
        assert client.get(f"/c/{DEMO_SLUG}/").status_code == 200  # admits, leases, warms up
        clients.append((client, annotator))

    samples: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in ("task page", "submit")
    }
    queries: dict[str, int] = {}

    def timed(name: str, call):  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as q:
            w0, c0 = time.perf_counter(), time.process_time()
            response = call()
            samples[name]["wall"].append((time.perf_counter() - w0) * 1000)
            samples[name]["cpu"].append((time.process_time() - c0) * 1000)
        queries.setdefault(name, len(q))
        assert response.status_code == 200, (name, response.status_code, response.content[:300])

    # Attribute the submit's time: the two core services it calls, timed in place.
    from annotate.views import tasks as task_views

    inner: dict[str, list[float]] = {"annotation_submit": [], "next lease": []}

    def timing(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapped(**kwargs):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return fn(**kwargs)
            finally:
                inner[name].append((time.perf_counter() - t0) * 1000)

        return wrapped

    task_views.annotation_submit = timing("annotation_submit", task_views.annotation_submit)
    task_views.assignment_next_with_quality = timing(
        "next lease", task_views.assignment_next_with_quality
    )
    load_before = os.getloadavg()[0]
    active = list(clients)
    while active and len(samples["submit"]["wall"]) < MAX_CYCLES:
        for client, annotator in list(active):
            current = (
                Assignment.objects.select_related("item")
                .filter(annotator=annotator, status=AssignmentStatus.ACTIVE)
                .first()
            )
            if current is None:
                active.remove((client, annotator))
                continue
            data = answer(current, campaign)
            timed("task page", lambda: client.get(f"/tasks/{current.pk}/"))  # noqa: B023
            timed(
                "submit",
                lambda: client.post(f"/tasks/{current.pk}/submit/", data, headers=HX),  # noqa: B023
            )
    n = len(samples["submit"]["wall"])
    print(f"bench_ui: {N_ANNOTATORS} annotators on the demo campaign, {n} tasks answered")
    print(f"load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    labels = {
        "task page": "task page (GET, full HTML)",
        "submit": "submit (htmx POST, answers with the next task)",
    }
    for name, label in labels.items():
        wall, cpu = samples[name]["wall"], samples[name]["cpu"]
        print(
            f"{label}: median {statistics.median(wall):.1f} ms, p95 {pct(wall, 0.95):.1f} ms "
            f"(server CPU median {statistics.median(cpu):.1f} ms), {queries[name]} SQL queries"
        )
    for name, values in inner.items():
        print(f"  inside submit, {name}: median {statistics.median(values):.1f} ms")
    ok = all(statistics.median(samples[k]["wall"]) < 50 for k in samples)
    print(f"target median < 50 ms for both: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
