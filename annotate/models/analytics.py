"""Stored analytics: the latest computed figures of a campaign, read by the dashboard.

Recomputing every figure on each page view would cost seconds on a large campaign, so a
Celery task (annotate.tasks.analytics_snapshot_refresh) writes a snapshot when labels
change (debounced) or on demand, and pages read the newest one. ``labels_until`` is the
creation time of the newest label included, so a page can say how many labels arrived
since.
"""

from __future__ import annotations

from django.db import models

from config.jsonutil import JSONEncoder

from .campaign import Campaign


class AnalyticsSnapshot(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="analytics_snapshots"
    )
    computed_at = models.DateTimeField(auto_now_add=True)
    labels_until = models.DateTimeField(null=True, blank=True)
    n_labels = models.PositiveIntegerField(default=0)
    # Wall time of the computation (database read + figures), milliseconds.
    duration_ms = models.PositiveIntegerField(default=0)
    # The document annotate.analytics.report.campaign_report returns (keys: analytics README).
    data = models.JSONField(default=dict, encoder=JSONEncoder)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "-computed_at"], name="analytics_snapshot_latest")
        ]

    def __str__(self) -> str:
        return f"analytics {self.campaign_id} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"
