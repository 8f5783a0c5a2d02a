"""Generation models: the registry of model endpoints and the generation ledger.

``ModelEndpoint`` is one model a campaign's pool can draw candidates from. A
``GenerationRequest`` is one row per (prompt, endpoint, sample index), the worker's ledger.

The unique key makes generation idempotent: a task delivered twice (``acks_late`` after a
worker crash, a duplicate enqueue) finds the row and its response and does nothing. The
row also carries what a person needs to see in the admin: status, attempts, last error,
and the progressive text the live conversation page polls while the model writes.
Both keep the ``modelserve`` app label (and its migrations): ``modelserve.models`` imports
this module so Django registers them.
"""

from __future__ import annotations

from django.db import models

from config.jsonutil import JSONEncoder


class Backend(models.TextChoices):
    LOCAL = "local", "Local transformers"
    OPENAI = "openai", "OpenAI-compatible HTTP"


class ModelEndpoint(models.Model):
    name = models.CharField(max_length=120, unique=True, help_text="Shown to admins only.")
    # What annotators see ("Model A"...). Identities stay hidden from annotators.
    anon_label = models.CharField(max_length=40, blank=True)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.LOCAL)
    # Local: a folder in Hugging Face format, or "default" for SmolLM2-135M-Instruct.
    # OpenAI: the model name sent in the request.
    model = models.CharField(max_length=300, default="default")
    base_url = models.URLField(blank=True)
    # Name of the environment variable holding the API key (never the key itself).
    api_key_env = models.CharField(max_length=100, blank=True)
    # Sampling defaults: temperature, top_p, max_new_tokens, system_prompt, timeout_s.
    params = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    # Set when this endpoint serves a refit policy version through the local backend.
    policy_version = models.ForeignKey(
        "PolicyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="endpoints"
    )
    enabled = models.BooleanField(default=True)
    campaigns = models.ManyToManyField(
        "annotate.Campaign",
        blank=True,
        related_name="model_pool",
        help_text="Campaigns whose generation pool includes this endpoint.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class GenerationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class GenerationPurpose(models.TextChoices):
    POOL = "pool", "Pre-generated item"
    LIVE = "live", "Live conversation"
    # Issue 16: an AI judge's question about an item; the answer is no Response, it is
    # stored on the request (partial_text) and parsed into a Judgment by the judge job.
    JUDGE = "judge", "Judge"


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
    # When set, the chat messages sent instead of the prompt's (a judge's question about
    # the prompt's item); empty for generation of responses to the prompt itself.
    messages = models.JSONField(default=list, blank=True, encoder=JSONEncoder)
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
