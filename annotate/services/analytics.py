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
from annotate.analytics.tally import Tally, tally_leaderboard, tally_merge, tally_of
from annotate.models import AnalyticsSnapshot, Campaign
from annotate.selectors.analytics import (
    analytics_options,
    analytics_snapshot_latest,
    campaign_analytics_data,
    labels_through,
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
        # "Recompute now" recomputes every figure, never only the additive ones.
        extra = {"full": True} if immediate else {}
        sent = enqueue(
            ANALYTICS_SNAPSHOT_REFRESH, _options=options, campaign_id=campaign_id, **extra
        )
        if sent is None:
            # Broker down (enqueue logged it): drop the flag so the next label tries again.
            cache.delete(_flag_key(campaign_id))

    transaction.on_commit(send, robust=True)
    return True


def _incremental_min_labels() -> int:
    return int(getattr(settings, "CHORUS_ANALYTICS_INCREMENTAL_MIN_LABELS", 100_000))


def _full_every() -> float:
    return float(getattr(settings, "CHORUS_ANALYTICS_FULL_EVERY", 0.1))


def _incremental_base(campaign: Campaign, full: bool) -> tuple[AnalyticsSnapshot, Tally] | None:
    """The snapshot to extend with new labels only, or None when a full run is due.

    Full when asked, when there is no tallied snapshot, when the campaign is small (a full
    run costs under a second there), when labels since the last full run reach
    ``CHORUS_ANALYTICS_FULL_EVERY`` of those it covered, or when labels it covered are gone
    (an annotator deleted their data: sums cannot be taken back apart). The same count
    catches a label whose id is below the snapshot's newest but whose transaction
    committed after the snapshot read (ids are handed out before commit).
    """
    if full:
        return None
    prev = analytics_snapshot_latest(campaign=campaign)
    if prev is None or not isinstance(prev.data.get("tally"), dict):
        return None
    tally = Tally.from_json(prev.data["tally"])
    inc = prev.data.get("incremental") or {}
    full_labels = int(inc.get("full_labels", tally.n_labels))
    if full_labels < _incremental_min_labels():
        return None
    if labels_through(campaign=campaign, max_id=tally.max_label_id) != tally.n_labels:
        return None
    if tally.n_labels - full_labels >= _full_every() * full_labels:
        return None
    return prev, tally


def analytics_snapshot_compute(*, campaign_id: int, full: bool = False) -> AnalyticsSnapshot | None:
    """Recompute a campaign's figures and store them as its newest snapshot.

    Safe to run twice (each run writes a complete snapshot; older ones beyond the last
    ``KEEP_SNAPSHOTS`` are pruned). Returns None when the campaign no longer exists.

    Incremental runs (see ``_incremental_base``) read only labels newer than the last
    snapshot: the additive figures under ``tally`` (counts, win matrices, Bradley-Terry
    ratings from them) are brought up to date, the others are carried over from the last
    full run, which ``incremental`` describes.
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
    base = _incremental_base(campaign, full)
    if base is None:
        data = campaign_analytics_data(campaign=campaign, group_fields=fields)
        report = campaign_report(data, opts)
        tally = tally_of(data)
        report["incremental"] = {"full_labels": tally.n_labels, "full_label_id": tally.max_label_id}
    else:
        prev, old = base
        new = campaign_analytics_data(
            campaign=campaign, group_fields=fields, after_id=old.max_label_id
        )
        tally = tally_merge(old, tally_of(new))
        report = dict(prev.data)
        report["n_labels"] = tally.n_labels
    # Issue 16: AI judges against the people (from judgments; human-only data), always
    # recomputed: judgments arrive without new labels.
    report["judges"] = campaign_judges_report(campaign=campaign)
    report["routing"] = routing_report(campaign=campaign)
    report["tally"] = tally.to_json()
    report["tally"]["leaderboard"] = tally_leaderboard(tally)
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
