"""Generation requests: one row per (prompt, endpoint, sample index), the worker's ledger.

The unique key makes generation idempotent: a task delivered twice (``acks_late`` after a
worker crash, a duplicate enqueue) finds the row and its response and does nothing. The
row also carries what a person needs to see in the admin: status, attempts, last error,
and the progressive text the live conversation page polls while the model writes.
Imported by ``modelserve.models`` so Django registers it with the app.
"""

from __future__ import annotations

from django.db import models

from config.jsonutil import JSONEncoder


class GenerationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class GenerationPurpose(models.TextChoices):
    POOL = "pool", "Pre-generated item"
    LIVE = "live", "Live conversation"


class GenerationRequest(models.Model):
    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="generation_requests"
    )
    prompt = models.ForeignKey(
        "annotate.Prompt", on_delete=models.CASCADE, related_name="generation_requests"
    )
    endpoint = models.ForeignKey(
        "modelserve.ModelEndpoint", on_delete=models.CASCADE, related_name="generation_requests"
    )
    # Distinguishes several samples from one endpoint for one prompt (an A/B pair).
    sample_index = models.PositiveSmallIntegerField(default=0)
    purpose = models.CharField(max_length=8, choices=GenerationPurpose.choices)
    # Requests that together make one item (pool) or one conversation turn (live).
    batch = models.CharField(max_length=40, db_index=True)
    # Pool: the task type of the item assembled when the whole batch is done.
    task_type = models.CharField(max_length=16, blank=True)
    # Sampling parameters resolved at enqueue time (endpoint defaults + diversity plan).
    params = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    status = models.CharField(
        max_length=8,
        choices=GenerationStatus.choices,
        default=GenerationStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Text produced so far, rewritten a few times a second while the model streams.
    partial_text = models.TextField(blank=True)
    response = models.OneToOneField(
        "annotate.Response",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_request",
    )
    item = models.ForeignKey(
        "annotate.Item",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_requests",
    )
    n_tokens = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # "stop" (a natural ending: EOS, a stop string, a sentence end near the budget) or
    # "length" (cut at max_new_tokens); the conversation page says "(cut off)" for it.
    finish_reason = models.CharField(max_length=8, blank=True)
    # What the annotator should know about this reply, e.g. the prompt was cut to fit.
    notice = models.CharField(max_length=300, blank=True)
    celery_task_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "endpoint", "sample_index"], name="generation_unique_sample"
            )
        ]
        indexes = [models.Index(fields=["campaign", "purpose", "status"])]

    def __str__(self) -> str:
        return f"generation {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (GenerationStatus.DONE, GenerationStatus.FAILED)
