"""Learning-loop models: policy and reward-model versions, what a campaign serves, runs.

A refit never edits a version in place: it writes a new artifact directory and a new
version row; promotion is one row update (``CampaignServing``) in a transaction, so a
failed or killed run leaves what is serving untouched.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from config.jsonutil import JSONEncoder


class VersionStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    SERVING = "serving", "Serving"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected by gates"


class _Version(models.Model):
    campaign = models.ForeignKey(
        "annotate.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.CANDIDATE
    )
    base_model = models.CharField(max_length=300, default="default")
    artifact_dir = models.CharField(max_length=500, blank=True)
    training_run = models.ForeignKey(
        "TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # SHA-256 of the exact training data snapshot, config and metrics at creation.
    data_hash = models.CharField(max_length=64, blank=True)
    config = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    metrics = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class PolicyVersion(_Version):
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="policy_unique_version")
        ]

    def __str__(self) -> str:
        return f"policy v{self.version}"


class RewardModelVersion(_Version):
    class Meta:
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="reward_unique_version")
        ]

    def __str__(self) -> str:
        return f"reward model v{self.version}"


class CampaignServing(models.Model):
    """What a campaign serves now. Promotion updates this one row in a transaction."""

    campaign = models.OneToOneField(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="serving"
    )
    policy = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reward_model = models.ForeignKey(
        RewardModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"serving for campaign {self.campaign_id}"


class RunKind(models.TextChoices):
    REWARD = "reward", "Reward model"
    DPO = "dpo", "DPO policy"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    GATED = "gated", "Finished, not promoted"
    FAILED = "failed", "Failed"


class TrainingRun(models.Model):
    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="training_runs"
    )
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    config = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    data_hash = models.CharField(max_length=64, blank=True)
    n_examples = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    # {"train_loss": [[step, value], ...], ...}
    curves = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    artifact_dir = models.CharField(max_length=500, blank=True)
    celery_task_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database-level lock: one unfinished refit per campaign and kind.
            models.UniqueConstraint(
                fields=["campaign", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_campaign_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"
