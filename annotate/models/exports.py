"""A record of every export, so any dataset a researcher holds can be traced and rebuilt.

An export is reproducible from its row: the campaign, the shape, the format, the options
and filters exactly as parsed, and ``max_annotation_id`` (the newest annotation that
existed when it ran; annotations are append-only, so re-running with the same bound
gives the same rows, except where an annotator has since deleted their data, which is the
point of deletion).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from config.jsonutil import JSONEncoder


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Export(models.Model):
    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    shape = models.CharField(max_length=32)
    format = models.CharField(max_length=16)
    # Shape options (conversational, min_margin, threshold, ranking_pairs...) and the
    # annotation filters, both normalised by annotate.exports.params.
    options = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    filters = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    max_annotation_id = models.BigIntegerField(null=True, blank=True)
    # True when the export ran as a Celery job and left a file behind.
    is_async = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)
    row_count = models.BigIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # SHA-256 of the exact bytes delivered (file or stream).
    sha256 = models.CharField(max_length=64, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["campaign", "created_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} {self.shape}/{self.format} ({self.status})"
