"""Analytics snapshots: the debounced request hook and the recomputation.

``analytics_snapshot_request`` is called after every label submit (and by imports): it
must be cheap, so it is one cache ``add`` (an atomic set-if-absent, SETNX on Redis) and,
only for the first call in a debounce window, one enqueue of the Celery task with a
countdown. Labels arriving while the flag is up are picked up by that task, because the
task clears the flag *before* it reads the labels; a label arriving after the clear sets
the flag again and schedules the next run. A flag whose task never ran (worker or broker
down) expires after ``CHORUS_ANALYTICS_DEBOUNCE_S + 600`` seconds, so requests resume.

Settings read: ``CHORUS_ANALYTICS_DEBOUNCE_S`` (seconds, default 30).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from annotate.analytics.report import campaign_report
from annotate.models import AnalyticsSnapshot, Campaign
from annotate.selectors.analytics import (
    analytics_options,
    campaign_analytics_data,
    latest_label_time,
)
from annotate.selectors.judge_analytics import campaign_judges_report
from annotate.selectors.routing import routing_report
from annotate.tasks_util import enqueue

logger = logging.getLogger(__name__)
KEEP_SNAPSHOTS = 5
# Celery task name (see annotate.tasks); enqueued by name, not imported.
ANALYTICS_SNAPSHOT_REFRESH = "annotate.tasks.analytics_snapshot_refresh"


def _debounce_seconds() -> int:
    return int(getattr(settings, "CHORUS_ANALYTICS_DEBOUNCE_S", 30))


def _flag_key(campaign_id: int) -> str:
    return f"chorus:analytics:pending:{campaign_id}"


def analytics_snapshot_request(*, campaign_id: int, immediate: bool = False) -> bool:
    """Ask for a fresh snapshot of a campaign. Returns True if this call scheduled a run.

    Cheap and safe on every submit: never raises, never touches the database. With
    ``immediate`` (the dashboard's "recompute now") the run starts without the countdown,
    even if a debounced one is pending.
    """
    countdown = 0 if immediate else _debounce_seconds()
    try:
        added = cache.add(_flag_key(campaign_id), 1, timeout=_debounce_seconds() + 600)
    except Exception:
        logger.exception("analytics debounce flag unavailable")
        added = True
    if not added and not immediate:
        return False

    def send() -> None:
        options = {"countdown": countdown, "queue": "default"}
        if enqueue(ANALYTICS_SNAPSHOT_REFRESH, _options=options, campaign_id=campaign_id) is None:
            # Broker down (enqueue logged it): drop the flag so the next label tries again.
            cache.delete(_flag_key(campaign_id))

    transaction.on_commit(send, robust=True)
    return True


def analytics_snapshot_compute(*, campaign_id: int) -> AnalyticsSnapshot | None:
    """Recompute every figure of a campaign and store it as its newest snapshot.

    Safe to run twice (each run writes a complete snapshot; older ones beyond the last
    ``KEEP_SNAPSHOTS`` are pruned). Returns None when the campaign no longer exists.
    """
    cache.delete(_flag_key(campaign_id))
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    started = time.perf_counter()
    until = latest_label_time(campaign=campaign)
    opts = analytics_options(campaign)
    fields = tuple(opts.group_fields) + tuple(
        f for f in opts.quotas.get("fields", []) if isinstance(f, str)
    )
    data = campaign_analytics_data(campaign=campaign, group_fields=fields)
    report = campaign_report(data, opts)
    # Issue 16: AI judges against the people (computed from judgments, human-only data).
    report["judges"] = campaign_judges_report(campaign=campaign)
    report["routing"] = routing_report(campaign=campaign)
    duration_ms = int((time.perf_counter() - started) * 1000)
    report["duration_ms"] = duration_ms
    with transaction.atomic():
        snapshot = AnalyticsSnapshot.objects.create(
            campaign=campaign,
            labels_until=until,
            n_labels=report["n_labels"],
            duration_ms=duration_ms,
            data=report,
        )
        stale = list(
            AnalyticsSnapshot.objects.filter(campaign=campaign)
            .order_by("-computed_at", "-id")
            .values_list("id", flat=True)[KEEP_SNAPSHOTS:]
        )
        if stale:
            AnalyticsSnapshot.objects.filter(id__in=stale).delete()
    return snapshot
